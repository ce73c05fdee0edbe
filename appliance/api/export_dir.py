"""Where a client of the local API may have the daemon write backups: the export location only.

Anyone in the daemon's group can connect to the API, and the daemon can write the data
partition, its configuration and more. ``export_backups`` therefore takes a directory only if,
symbolic links resolved, it lies inside the configured export location (``/media`` on the box,
where USB sticks are mounted) and is an existing directory. The daemon then writes into the
*resolved* path, so a link swapped in later cannot redirect an export already checked; the
export location's own mount points (vfat sticks) hold no links at all.
"""

from __future__ import annotations

from pathlib import Path

from appliance.api.errors import FORBIDDEN, ApiError


def _refused(requested: Path, why_en: str, why_zh: str, reason: str) -> ApiError:
    return ApiError(
        FORBIDDEN,
        f"backups cannot be exported to {requested}: {why_en}",
        f"不能把备份导出到 {requested}：{why_zh}",
        {"arg": "directory", "reason": reason},
    )


def check_export_dir(requested: Path, allowed_root: Path) -> Path:
    """Return the real directory to export into; an A-403 :class:`ApiError` if not allowed.

    ``requested`` must be absolute and, once every symbolic link in it is resolved, be
    ``allowed_root`` or lie below it, exist and be a directory.
    """
    if not requested.is_absolute():
        raise _refused(
            requested,
            "the directory must be an absolute path",
            "导出目录必须是绝对路径",
            "relative",
        )
    try:
        root = allowed_root.resolve(strict=True)
    except (OSError, RuntimeError):
        raise _refused(
            requested,
            f"the export location {allowed_root} does not exist",
            f"导出位置 {allowed_root} 不存在",
            "no-export-location",
        ) from None
    try:
        real = requested.resolve(strict=True)
    except FileNotFoundError:
        raise _refused(
            requested,
            "it does not exist (is the USB stick plugged in?)",
            "该目录不存在（U盘是否已插好？）",
            "missing",
        ) from None
    except (OSError, RuntimeError):
        # RuntimeError: a loop of symbolic links; OSError: a component that cannot be read.
        raise _refused(requested, "it cannot be read", "无法读取该目录", "unreadable") from None
    if real != root and root not in real.parents:
        raise _refused(
            requested,
            f"only directories under {allowed_root} are allowed",
            f"只允许导出到 {allowed_root} 之下的目录",
            "outside",
        )
    if not real.is_dir():
        raise _refused(requested, "it is not a directory", "这不是一个目录", "not-a-directory")
    return real
