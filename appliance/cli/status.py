"""``qingka status`` and ``qingka history``: what the box knows, for people and for scripts."""

from __future__ import annotations

import argparse
from typing import Any

from appliance.api.client import ApiClient, is_running
from appliance.api.errors import ApiError
from appliance.clearing.journal import Journal
from appliance.clearing.outcomes import OutcomeKind
from appliance.clearing.pins import verify_pin_once
from appliance.cli.clear import add_connection_arguments, socket_path
from appliance.cli.devices import STAGE_WORDS
from appliance.cli.output import (
    EXIT_DEVICE,
    EXIT_OK,
    EXIT_USAGE,
    default_lang,
    print_error,
    print_json,
)
from appliance.cli.progress import KIND_WORDS
from appliance.daemon.config import ConfigError, load_config
from appliance.devices.errors import DeviceError
from appliance.devices.messages import describe
from appliance.devices.models import Identity
from appliance.devices.nisec import NisecDevice
from appliance.devices.snapshot import DeviceSnapshot, read_snapshot
from appliance.devices.urls import open_device
from appliance.storage.database import Database


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``status`` and ``history``."""
    status = subparsers.add_parser("status", help="show every device's stage and lock date")
    status.add_argument("--json", action="store_true", help="print JSON for machines")
    add_connection_arguments(status)
    status.set_defaults(handler=run_status)
    history = subparsers.add_parser("history", help="show past clearings and their outcomes")
    history.add_argument("--device", help="only this device (URL or number)")
    history.add_argument("--limit", type=int, default=24, help="how many (default 24)")
    history.add_argument("--json", action="store_true", help="print JSON for machines")
    add_connection_arguments(history)
    history.set_defaults(handler=run_history)


def _from_daemon(args: argparse.Namespace, cmd: str, **params: Any) -> Any:
    path = socket_path(args)
    if path is None or not is_running(path):
        return None
    with ApiClient(path) as client:
        return client.call(cmd, **params)


def run_status(args: argparse.Namespace) -> int:
    """Print the status, from the daemon or read here."""
    try:
        status = _from_daemon(args, "status")
    except ApiError as exc:
        print_error(f"{exc} [{exc.code}]")
        return EXIT_DEVICE
    if status is None:
        try:
            status = _status_here(args)
        except ConfigError as exc:
            print_error(f"{exc}\n(没有运行中的清卡服务 / no daemon is running)")
            return EXIT_USAGE
        status["daemon"] = False
    else:
        status["daemon"] = True
    if args.json:
        print_json(status)
    else:
        print_status(status, default_lang())
    return EXIT_OK


def _status_here(args: argparse.Namespace) -> dict[str, Any]:
    config = load_config(args.config)
    config.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(config.database_path)
    journal = Journal(db)
    devices = []
    try:
        for spec in config.devices:
            row: dict[str, Any] = {"url": spec.url, "present": False, "device": None, "error": None}
            try:
                with open_device(spec.url) as device:
                    snap = _read(device, journal, spec.pin)
                row.update(present=True, device=snap.to_json())
                last = journal.last_outcome(snap.identity.device_no)
                row["last_outcome"] = last.to_json() if last else None
                row["last_success"] = journal.last_success(snap.identity.device_no)
            except DeviceError as exc:
                row["error"] = {
                    "code": exc.code,
                    "message_zh": describe(exc, "zh"),
                    "message_en": describe(exc, "en"),
                }
            devices.append(row)
    finally:
        db.close()
    return {"policy": config.policy, "devices": devices}


def _read(device: NisecDevice, journal: Journal, pin: str) -> DeviceSnapshot:
    """Read a snapshot, verifying the PIN the guarded way (a rejected PIN is never re-sent)."""

    def verify(identity: Identity) -> None:
        verify_pin_once(device, journal, identity.device_no, pin)

    return read_snapshot(device, pin, verify)


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
    """Print the history, from the daemon or the journal."""
    try:
        rows = _from_daemon(args, "history", device=args.device, limit=args.limit)
    except ApiError as exc:
        print_error(f"{exc} [{exc.code}]")
        return EXIT_DEVICE
    if rows is None:
        try:
            config = load_config(args.config)
        except ConfigError as exc:
            print_error(str(exc))
            return EXIT_USAGE
        if not config.database_path.exists():
            rows = []
        else:
            db = Database(config.database_path)
            try:
                rows = Journal(db).history(args.device, args.limit)
            finally:
                db.close()
    if args.json:
        print_json(rows)
        return EXIT_OK
    zh = default_lang() == "zh"
    if not rows:
        print("还没有清卡记录" if zh else "No clearing yet")
    for row in rows:
        kind = OutcomeKind(row["kind"])
        title = KIND_WORDS[kind][0 if zh else 1]
        period = row.get("period") or "-"
        print(
            f"{row['at'][:16].replace('T', ' ')}  {row.get('device_no', '')}  {period}  "
            f"{title}: {row['message_zh' if zh else 'message_en']} [{row['code']}]"
        )
    return EXIT_OK
