"""``qingka backup list | verify | export DIR``: the period backups kept on the data partition."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from appliance.cli.connect import config_error_text, config_file_argument, path_argument
from appliance.cli.output import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_STORAGE,
    EXIT_USAGE,
    default_lang,
    print_error,
    print_json,
    say,
)
from appliance.clock import clock
from appliance.daemon.config import ConfigError, load_config
from appliance.storage.backups import MISSING_EN, MISSING_ZH, BackupStore
from appliance.storage.errors import (
    ExportNoFolder,
    ExportNotAFolder,
    ExportNotRecorded,
    StorageError,
    describe,
)
from appliance.storage.export import read_archive_manifest
from appliance.storage.records import (
    FileProblem,
    PeriodBackup,
    PeriodCheck,
    Problem,
    SetAside,
    period_text,
)
from appliance.storage.words import PROBLEM_WORDS

# Where the daemon keeps its data partition unless its configuration says otherwise.
DEFAULT_DATA_DIR = Path("/var/lib/qingka")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``backup`` with its ``list``, ``verify`` and ``export`` actions."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--data-dir",
        type=path_argument,
        default=DEFAULT_DATA_DIR,
        metavar="DIR",
        help=f"the box's data folder (default {DEFAULT_DATA_DIR})",
    )
    common.add_argument(
        "--config",
        type=config_file_argument,
        help="take the data folder from the daemon's configuration file",
    )
    common.add_argument("--json", action="store_true", help="print JSON for machines")
    parser = subparsers.add_parser("backup", help="list, verify or export the period backups")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    listing = actions.add_parser("list", parents=[common], help="list the backed-up periods")
    listing.set_defaults(handler=guarded(run_list))

    verify = actions.add_parser(
        "verify",
        parents=[common],
        help="recheck every checksum; exit 1 if a file is missing, corrupt or extra",
    )
    verify.set_defaults(handler=guarded(run_verify))

    export = actions.add_parser(
        "export",
        parents=[common],
        help="write a .zip of the backups into DIR and mark them exported; "
        "exit 1 if damaged files (or a damaged copy set aside) had to be left out, "
        "2 if DIR is not a folder",
    )
    export.add_argument(
        "dest", type=path_argument, metavar="DIR", help="folder to write the .zip into"
    )
    export.add_argument("--device", metavar="DEVICE_NO", help="export only this device")
    export.set_defaults(handler=guarded(run_export))


def guarded(
    run: Callable[[argparse.Namespace, BackupStore], int],
) -> Callable[[argparse.Namespace], int]:
    """Wrap an action so a storage error prints one plain sentence and exits non-zero."""

    def handler(args: argparse.Namespace) -> int:
        lang = default_lang()
        data_dir = args.data_dir
        if args.config is not None:
            try:
                data_dir = load_config(args.config).data_dir
            except ConfigError as exc:
                print_error(config_error_text(exc, lang))
                return EXIT_USAGE
        if not data_dir.is_dir():
            # A mistyped folder is not "no backups yet": say that it is not there (or not one).
            zh = f"没有这个数据目录：{data_dir}（请检查 --data-dir，或用 --config 指定配置文件）"
            en = f"There is no data folder {data_dir} (check --data-dir, or give --config FILE)"
            if data_dir.exists():
                zh = f"数据目录的位置上不是文件夹：{data_dir}（请检查 --data-dir）"
                en = f"{data_dir} is not a folder: it cannot be the data folder (check --data-dir)"
            if args.json:
                print_json({"error": {"code": "S-005", "message": zh if lang == "zh" else en}})
            print_error((zh if lang == "zh" else en) + " [S-005]")
            return EXIT_USAGE
        try:
            return run(args, BackupStore(data_dir))
        except ExportNotRecorded as exc:
            report_error(args, exc, lang, {"archive": str(exc.archive)})
            return EXIT_STORAGE
        except (ExportNoFolder, ExportNotAFolder) as exc:
            report_error(args, exc, lang, {})  # a mistyped folder, not a failing disk
            return EXIT_USAGE
        except StorageError as exc:
            report_error(args, exc, lang, {})
            return EXIT_STORAGE

    return handler


def report_error(
    args: argparse.Namespace, exc: StorageError, lang: str, extra: dict[str, Any]
) -> None:
    """Print a storage error: JSON on standard output if asked, a sentence on standard error."""
    if args.json:
        print_json({"error": {"code": exc.code, "message": describe(exc, lang), **extra}})
    if "archive" in extra:
        print(say(f"已导出到：{extra['archive']}", f"Exported to: {extra['archive']}"))
    print_error(describe(exc, lang))


def local_time(moment: datetime | None) -> str:
    """Return a moment in the box's time zone, to the minute."""
    return "-" if moment is None else clock().in_zone(moment).strftime("%Y-%m-%d %H:%M")


def human_size(size: int) -> str:
    """Return a byte count the way a person reads it."""
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KiB"
    return f"{size / 1024 / 1024:.1f} MiB"


def run_list(args: argparse.Namespace, store: BackupStore) -> int:
    """Print every backed-up period."""
    periods, aside = store.periods(), store.set_aside()
    if args.json:
        print_json(
            {
                "backups_dir": str(store.backups_dir),
                "periods": [p.to_json() for p in periods],
                "set_aside": [item.to_json() for item in aside],
            }
        )
        return EXIT_OK
    print(say(f"备份目录：{store.backups_dir}", f"Backup folder: {store.backups_dir}"))
    if not periods and not aside:
        print(say("还没有备份", "No backups yet"))
        return EXIT_OK
    device = ""
    for backup in periods:
        if backup.device_no != device:
            device = backup.device_no
            print(say(f"设备 {device}", f"Device {device}"))
        print_period(backup)
    for item in aside:
        print(set_aside_line(item, "已搁置", "set aside"))
    return EXIT_OK


def set_aside_line(item: SetAside, label_zh: str, label_en: str) -> str:
    """Return one line about a damaged copy a save moved aside (kept on the box)."""
    if item.period is None:
        return say(
            f"{label_zh}：设备 {item.device_no} 的损坏副本保留在 {item.path}",
            f"{label_en}: damaged copy of device {item.device_no} kept in {item.path}",
        )
    when = period_text(item.period)
    return say(
        f"{label_zh}：设备 {item.device_no} {when} 的损坏副本保留在 {item.path}",
        f"{label_en}: damaged copy of {when} (device {item.device_no}) kept in {item.path}",
    )


def print_period(backup: PeriodBackup) -> None:
    """Print one period and its files."""
    when = period_text(backup.period)
    if backup.manifest_missing:
        print(say(f"  {when}  {MISSING_ZH}", f"  {when}  {MISSING_EN}"))
        print(say("    请运行 qingka backup verify", "    Run qingka backup verify"))
        return
    if backup.manifest_error:
        print(
            say(
                f"  {when}  清单无法读取（{backup.manifest_error_zh or backup.manifest_error}）",
                f"  {when}  manifest unreadable ({backup.manifest_error})",
            )
        )
        print(say("    请运行 qingka backup verify", "    Run qingka backup verify"))
        return
    at = local_time(backup.exported_at)
    exported = (
        say(f"已导出 {at}", f"exported {at}") if backup.exported else say("未导出", "not exported")
    )
    saved, count, size = local_time(backup.created_at), len(backup.files), human_size(backup.size)
    print(
        say(
            f"  {when}  {count} 个文件  {size}  保存于 {saved}  {exported}",
            f"  {when}  {count} files  {size}  saved {saved}  {exported}",
        )
    )
    for item in backup.files:
        print(
            f"    {item.name:<24} {item.kind:<14} {human_size(item.size):>10}"
            f"  sha256 {item.sha256[:16]}…"
        )


def run_verify(args: argparse.Namespace, store: BackupStore) -> int:
    """Recheck every stored file and print what is wrong, per period."""
    report = store.verify()
    if args.json:
        print_json(report.to_json())
    else:
        if not report.periods and not report.strays:
            print(say("还没有备份", "No backups yet"))
        for check in report.periods:
            print_check(check)
        for stray in report.strays:
            print(problem_line(stray, f"{store.backups_dir.name}/{stray.name}"))
        periods, verified, problems = len(report.periods), report.verified, report.problem_count
        print(
            say(
                f"共 {periods} 个期间，{verified} 个文件校验通过，{problems} 个问题",
                f"Total: {periods} periods, {verified} files verified, {problems} problems",
            )
        )
    return EXIT_OK if report.ok else EXIT_FAILED


def problem_line(problem: FileProblem, name: str) -> str:
    """Return one problem in plain words, in the language of this run."""
    label_zh, label_en, text_zh, text_en = PROBLEM_WORDS[problem.problem]
    reason_zh, reason_en = problem.reason_in("zh"), problem.reason_in("en")
    return say(
        f"{label_zh}：{name} — {text_zh}" + (f"（{reason_zh}）" if reason_zh else ""),
        f"{label_en}: {name} — {text_en}" + (f" ({reason_en})" if reason_en else ""),
    )


def print_check(check: PeriodCheck) -> None:
    """Print one period's verification."""
    when = period_text(check.period)
    head = say(f"{when}  设备 {check.device_no}", f"{when}  device {check.device_no}")
    if check.manifest_missing:
        # The period's data is all there may be of it: never call its files leftovers.
        print(
            say(
                f"{head}：清单缺失：无法校验本期备份；其 {check.kept} 个文件均已保留",
                f"{head}: manifest missing: this period's backup cannot be checked;"
                f" its files are kept ({check.kept})",
            )
        )
        return
    if check.manifest_error:
        print(
            say(
                f"{head}：清单损坏（{check.manifest_error_in('zh')}）",
                f"{head}: manifest damaged ({check.manifest_error})",
            )
        )
        return
    state = say("正常", "OK") if check.ok else say("有问题", "PROBLEMS")
    print(
        say(
            f"{head}：{state}，{check.verified} 个文件校验通过",
            f"{head}: {state}, {check.verified} files verified",
        )
    )
    for item in check.problems:
        print(f"    {problem_line(item, item.name)}")


def run_export(args: argparse.Namespace, store: BackupStore) -> int:
    """Write the archive and print where it is and what it holds."""
    path = store.export(args.dest, args.device)
    manifest = read_archive_manifest(path)
    raw = [entry for entry in manifest["files"] if "kind" in entry]
    periods = {(entry["device_no"], entry["period"]) for entry in raw}
    problems = manifest["problems"]
    # Damaged copies a save set aside are no periods: the archive leaves them out; say so.
    aside = [item for item in store.set_aside() if args.device in (None, item.device_no)]
    if args.json:
        print_json(
            {
                "archive": str(path),
                "periods": len(periods),
                "files": len(raw),
                "problems": problems,
                "left_out": [item.to_json() for item in aside],
            }
        )
    else:
        print(say(f"已导出到：{path}", f"Exported to: {path}"))
        print(
            say(
                f"  {len(periods)} 个期间，{len(raw)} 个文件",
                f"  {len(periods)} periods, {len(raw)} files",
            )
        )
        if problems:
            print(say("以下文件已损坏或丢失，未导出：", "Damaged or missing, not exported:"))
        for item in problems:
            name = f"{item['device_no']} {period_text(item['period'])} {item['name']}".rstrip()
            problem = FileProblem(
                item["name"], Problem(item["problem"]), item["reason"], item.get("reason_zh", "")
            )
            print(f"    {problem_line(problem, name)}")
        for item in aside:
            print(set_aside_line(item, "未导出（仍留在本机）", "Not exported (stays on the box)"))
    return EXIT_FAILED if problems or aside else EXIT_OK
