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
        type=int,
        default=24,
        choices=range(1, 501),
        metavar="N",
        help="how many (1..500, default 24)",
    )
    history.add_argument("--json", action="store_true", help="print JSON for machines")
    add_connection_arguments(history)
    history.set_defaults(handler=run_history)


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
    try:
        state, rows = from_daemon(args, "history", device=args.device, limit=args.limit)
    except ApiError as exc:
        return fail(args, exc.code, exc.message_zh, str(exc), EXIT_DEVICE)
    if state == "busy":
        return fail(args, "A-503", BUSY_ZH, BUSY_EN, EXIT_BUSY)
    lang = default_lang()
    if rows is None:
        config = load_or_fail(args)
        if config is None:
            return EXIT_USAGE
        if not args.json:
            print(
                say(
                    "（清卡服务未运行，以下来自本机记录）",
                    "(the service is not running; from the box's records)",
                    lang,
                )
            )
        rows = _journal_history(config.database_path, args.device, args.limit)
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


def _journal_history(path: Path, device: str | None, limit: int) -> list[dict[str, Any]]:
    from appliance.clearing.journal import Journal  # noqa: PLC0415 - only without a daemon
    from appliance.storage.database import Database  # noqa: PLC0415

    if not path.exists():
        return []
    db = Database(path)
    try:
        return Journal(db).history(device, limit)
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
