"""``qingka status`` and ``qingka history``: what the box knows, for people and for scripts."""

from __future__ import annotations

import argparse
from datetime import datetime
from pathlib import Path
from typing import Any

from appliance.api.errors import ApiError
from appliance.clearing.outcomes import OutcomeKind
from appliance.cli.connect import add_connection_arguments, fail, from_daemon, load_or_fail
from appliance.cli.devices import STAGE_WORDS
from appliance.cli.output import (
    EXIT_BUSY,
    EXIT_DEVICE,
    EXIT_OK,
    EXIT_USAGE,
    default_lang,
    print_json,
    say,
)
from appliance.cli.progress import KIND_WORDS
from appliance.clock import clock


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``status`` and ``history``."""
    status = subparsers.add_parser("status", help="show every device's stage and lock date")
    status.add_argument("--json", action="store_true", help="print JSON for machines")
    add_connection_arguments(status)
    status.set_defaults(handler=run_status)
    history = subparsers.add_parser("history", help="show past clearings and their outcomes")
    history.add_argument("--device", help="only this device (URL or number)")
    history.add_argument(
        "--limit",
        type=history_limit,
        default=24,
        metavar="N",
        help=f"how many ({MIN_LIMIT}..{MAX_LIMIT}, default 24)",
    )
    history.add_argument("--json", action="store_true", help="print JSON for machines")
    add_connection_arguments(history)
    history.set_defaults(handler=run_history)


# The daemon's ``history`` command takes 1..500 (docs/local-api.md).
MIN_LIMIT = 1
MAX_LIMIT = 500


def history_limit(text: str) -> int:
    """Return ``--limit`` if it is a whole number in 1..500 (one plain sentence otherwise)."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not MIN_LIMIT <= value <= MAX_LIMIT:
        raise argparse.ArgumentTypeError(
            f"--limit must be between {MIN_LIMIT} and {MAX_LIMIT} (not {text!r})"
        )
    return value


BUSY_ZH = "清卡服务正在运行，但此刻太忙无法应答；请稍后再试"
BUSY_EN = "The clearing service is running but too busy to answer; try again in a moment"


def run_status(args: argparse.Namespace) -> int:
    """Print the status, from the daemon or read here: the same shape either way."""
    try:
        state, status = from_daemon(args, "status")
    except ApiError as exc:
        return fail(args, exc.code, exc.message_zh, str(exc), EXIT_DEVICE)
    if state == "busy":
        return fail(args, "A-503", BUSY_ZH, BUSY_EN, EXIT_BUSY)
    if status is None:
        config = load_or_fail(args)
        if config is None:
            return EXIT_USAGE
        from appliance.cli.local import status_here  # noqa: PLC0415 - only without a daemon

        here = status_here(args, config)
        if isinstance(here, int):
            return here
        status = here
    status["daemon"] = state == "running"
    if args.json:
        print_json(status)
    else:
        print_status(status, default_lang())
    return EXIT_OK


def print_status(status: dict[str, Any], lang: str) -> None:
    """Print a status as readable text."""
    zh = lang == "zh"
    running = status.get("daemon")
    print(
        ("清卡服务: " + ("运行中" if running else "未运行"))
        if zh
        else ("Service: " + ("running" if running else "not running"))
    )
    if not status["devices"]:
        print("没有配置设备" if zh else "No device configured")
    for row in status["devices"]:
        print()
        data = row.get("device")
        if data is None:
            error = row.get("error") or {}
            message = error.get("message_zh" if zh else "message_en", "") or (
                "未连接" if zh else "not connected"
            )
            print(f"{row['url']}: {message}")
            continue
        print(
            f"{data['family']} {data['device_no']}  {data['taxpayer_name']}  "
            f"{data['taxpayer_id_masked']}"
        )
        for t in data["types"]:
            stage = STAGE_WORDS[t["stage"]][0 if zh else 1]
            if t["locked"]:
                stage += "，已锁定" if zh else ", locked"
            days = t["days_to_lock"]
            left = (
                (f"还有 {days} 天" if zh else f"{days} days left")
                if days >= 0
                else (f"已过 {-days} 天" if zh else f"{-days} days ago")
            )
            lock = "锁定日期" if zh else "locks on"
            print(f"  {t['type']} {t['name']:<12} {stage:<10} {lock} {t['lock_date']} ({left})")
        progress = row.get("progress")
        if progress:
            label = progress["label_zh"] if zh else progress["label_en"]
            print(f"  {'正在清卡' if zh else 'Clearing'}: {label} {progress['progress']}%")
        last = row.get("last_outcome")
        if last:
            kind = OutcomeKind(last["kind"])
            title = KIND_WORDS[kind][0 if zh else 1]
            print(
                f"  {'上次结果' if zh else 'Last outcome'}: {title}: "
                f"{last['message_zh' if zh else 'message_en']} [{last['code']}]"
            )


def run_history(args: argparse.Namespace) -> int:
    """Print the history, from the daemon or from the journal when none runs."""
    device = args.device
    known: set[str] = set()  # names of devices the box knows, looked up only when needed
    try:
        state, rows = from_daemon(args, "history", device=device, limit=args.limit)
        if state == "running" and device is not None and not rows:
            _, devices = from_daemon(args, "devices")
            known, number = _device_names(devices or [], device)
            if number is not None and number != device:  # given by URL: ask by its number
                _, rows = from_daemon(args, "history", device=number, limit=args.limit)
    except ApiError as exc:
        return fail(args, exc.code, exc.message_zh, str(exc), EXIT_DEVICE)
    if state == "busy":
        return fail(args, "A-503", BUSY_ZH, BUSY_EN, EXIT_BUSY)
    lang = default_lang()
    here = rows is None
    if rows is None:
        config = load_or_fail(args)
        if config is None:
            return EXIT_USAGE
        rows, known = _journal_history(config.database_path, device, args.limit)
        known |= {spec.url for spec in config.devices}
    if device is not None and not rows and device not in known:
        return fail(
            args,
            "A-404",
            f"没有这个设备：{device}（配置中没有它，也没有它的清卡记录；可用 qingka devices 查看）",
            f"There is no device {device}: it is not configured and has no clearing on record "
            "(see qingka devices)",
            EXIT_USAGE,
        )
    if here and not args.json:
        print(
            say(
                "（清卡服务未运行，以下来自本机记录）",
                "(the service is not running; from the box's records)",
                lang,
            )
        )
    if args.json:
        print_json(rows)
        return EXIT_OK
    if not rows:
        print(say("还没有清卡记录", "No clearing yet", lang))
    zh = lang == "zh"
    for row in rows:
        kind = OutcomeKind(row["kind"])
        title = KIND_WORDS[kind][0 if zh else 1]
        period = row.get("period") or "-"
        print(
            f"{when(row.get('at'), lang)}  {row.get('device_no', '')}  {period}  "
            f"{title}: {row['message_zh' if zh else 'message_en']} [{row['code']}]"
        )
    return EXIT_OK


def _device_names(devices: list[dict[str, Any]], device: str) -> tuple[set[str], str | None]:
    """Return every URL and device number in the daemon's ``devices``, and ``device``'s number."""
    names: set[str] = set()
    number = None
    for row in devices:
        data = row.get("device") or {}
        row_names = {str(row.get("url")), str(data.get("device_no") or "")} - {""}
        names |= row_names
        if device in row_names and data.get("device_no"):
            number = str(data["device_no"])
    return names, number


def _journal_history(
    path: Path, device: str | None, limit: int
) -> tuple[list[dict[str, Any]], set[str]]:
    """Return the journal's outcomes, and the device numbers and URLs it has any of."""
    from appliance.clearing.journal import Journal  # noqa: PLC0415 - only without a daemon
    from appliance.storage.database import Database  # noqa: PLC0415

    if not path.exists():
        return [], set()
    db = Database(path)
    try:
        known: set[str] = set()
        if device is not None:
            # A device given by URL: its outcomes are kept under its device number.
            for row in db.query(
                "SELECT device_no, url FROM outcomes WHERE device_no = ? OR url = ? "
                "ORDER BY id DESC LIMIT 1",
                (device, device),
            ):
                known |= {row["device_no"], row["url"] or row["device_no"]}
                device = str(row["device_no"])
            # A job started (a device read and its period begun) makes a device known too.
            if db.query("SELECT 1 FROM jobs WHERE device_no = ? LIMIT 1", (device,)):
                known.add(device)
        return Journal(db).history(device, limit), known
    finally:
        db.close()


def when(value: Any, lang: str) -> str:
    """Return a journal time as a person reads it: in the box's zone, today said as such."""
    try:
        moment = clock().in_zone(datetime.fromisoformat(str(value)))
    except ValueError:
        return str(value)[:16]
    today = clock().now().date()
    if moment.date() == today:
        return ("今天 " if lang == "zh" else "today ") + f"{moment:%H:%M}"
    return f"{moment:%Y-%m-%d %H:%M}"
