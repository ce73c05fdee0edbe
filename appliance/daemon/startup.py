"""Why the daemon could not start: one sentence in each language, its code, and what kind.

Under systemd the daemon is restarted after it exits, so the exit code says what kind of
problem stopped it (``qingka daemon`` maps :attr:`StartFailed.kind` to the codes every command
uses): a configuration or a path to fix, another process that holds the box, or the data
partition. The sentence names the path; no traceback reaches the journal for these.
"""

from __future__ import annotations

import errno
import stat
from pathlib import Path

from appliance.api.errors import SocketPathBusy
from appliance.box import BoxBusy
from appliance.storage.errors import StorageError

CONFIG = "config"
BUSY = "busy"
STORAGE = "storage"

CONFIG_CODE = "C-001"


class StartFailed(Exception):
    """The daemon cannot start; ``kind`` is CONFIG, BUSY or STORAGE."""

    def __init__(self, kind: str, code: str, zh: str, en: str) -> None:
        self.kind = kind
        self.code = code
        self.zh = zh
        self.en = en
        super().__init__(f"{en} [{code}]")

    def text(self, lang: str) -> str:
        """Return the sentence in ``lang`` with its code."""
        return f"{self.zh if lang == 'zh' else self.en} [{self.code}]"


def check_socket_folder(socket: Path) -> None:
    """Raise :class:`StartFailed` unless the folder of the API socket is there."""
    folder = socket.parent
    if not folder.is_dir():
        raise StartFailed(
            CONFIG,
            CONFIG_CODE,
            f"无法创建本机接口套接字 {socket}：文件夹 {folder} 不存在",
            f"Cannot create the API socket {socket}: its folder {folder} does not exist",
        )


def box_failure(exc: BoxBusy | StorageError) -> StartFailed:
    """Return the start failure of a box another process holds, or a data folder not usable."""
    if isinstance(exc, BoxBusy):
        return StartFailed(BUSY, exc.code, exc.zh, exc.en)
    zh, _ = exc.text("zh")
    en, _ = exc.text("en")
    where = f"（{exc.path}）" if exc.path else ""
    where_en = f" ({exc.path})" if exc.path else ""
    return StartFailed(STORAGE, exc.code, f"{zh}{where}", f"{en}{where_en}")


def socket_failure(socket: Path, exc: SocketPathBusy | OSError) -> StartFailed:
    """Return the start failure of an API socket that could not be taken."""
    if isinstance(exc, SocketPathBusy):
        try:
            not_socket = not stat.S_ISSOCK(socket.lstat().st_mode)
        except OSError:
            not_socket = False
        if not_socket:
            return StartFailed(
                CONFIG,
                CONFIG_CODE,
                f"本机接口套接字路径 {socket} 已存在且不是套接字；请删除它或在配置中换一个路径",
                f"The API socket path {socket} exists and is not a socket; remove it or "
                "choose another path in the configuration",
            )
        return StartFailed(
            BUSY,
            BoxBusy.code,
            f"另一个清卡服务正在使用本机接口套接字 {socket}，本服务不启动",
            f"Another QingKa daemon is listening on {socket}; this one does not start",
        )
    if exc.errno == errno.ENOENT:
        try:
            check_socket_folder(socket)
        except StartFailed as failed:
            return failed
    reason = exc.strerror or str(exc)
    return StartFailed(
        CONFIG,
        CONFIG_CODE,
        f"无法创建本机接口套接字 {socket}：{reason}",
        f"Cannot create the API socket {socket}: {reason}",
    )
