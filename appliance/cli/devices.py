"""``qingka devices`` and ``qingka device-info``: what is plugged in, and what it says."""

from __future__ import annotations

import argparse
from pathlib import Path

from appliance.clearing.engine import DeviceSpec
from appliance.cli.output import (
    EXIT_DEVICE,
    EXIT_OK,
    EXIT_USAGE,
    default_lang,
    print_error,
    print_json,
)
from appliance.daemon.config import DEFAULT_PATH, ConfigError, load_config
from appliance.devices import open_device
from appliance.devices.errors import DeviceError
from appliance.devices.ids import lookup
from appliance.devices.messages import describe
from appliance.devices.snapshot import DeviceSnapshot, read_snapshot
from appliance.devices.usb_pipe import describe as describe_usb
from appliance.devices.usb_pipe import find_devices
from appliance.protocol.commands import DEFAULT_PIN

STAGE_WORDS = {
    "needs-report": ("待抄报清卡", "needs clearing"),
    "reported-not-cleared": ("已抄报，待清卡", "reported, not cleared"),
    "cleared": ("已清卡", "cleared"),
}
# A PIN file is one line; anything longer is not a PIN file.
MAX_PIN_FILE_BYTES = 256


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``devices`` and ``device-info``."""
    listing = subparsers.add_parser(
        "devices", help="list the tax devices plugged in, and the configured ones"
    )
    listing.add_argument("--json", action="store_true", help="print JSON for machines")
    listing.add_argument(
        "--config", type=Path, default=DEFAULT_PATH, help=f"configuration file ({DEFAULT_PATH})"
    )
    listing.set_defaults(handler=run_devices)

    info = subparsers.add_parser(
        "device-info", help="show a device's identity, monitor data, stage and lock date"
    )
    info.add_argument(
        "url", help="usb://VID:PID, serial:///dev/ttyACM0, sim://SCENARIO, replay://FILE"
    )
    info.add_argument("--json", action="store_true", help="print JSON for machines")
    info.add_argument(
        "--pin-file", type=Path, help="file holding the device PIN (default: factory PIN)"
    )
    info.add_argument("--capture", type=Path, help="record every USB transfer to this JSONL file")
    info.set_defaults(handler=run_device_info)


def run_devices(args: argparse.Namespace) -> int:
    """List recognised USB tax devices, then the configured ones with whether they answer."""
    rows: list[dict[str, object]] = []
    for dev in find_devices():
        desc = describe_usb(dev)
        known = lookup(desc.vid, desc.pid, desc.manufacturer)
        if known is not None:
            url = f"usb://{desc.vid_pid}" + (f"?serial={desc.serial}" if desc.serial else "")
            rows.append(
                {"url": url, "vendor": known.vendor, "serial": desc.serial, "source": "usb"}
            )
    for spec in _configured(args.config):
        if any(row["url"] == spec.url for row in rows):
            continue
        row: dict[str, object] = {"url": spec.url, "source": "config"}
        try:
            with open_device(spec.url) as device:
                identity = device.identify()
            row.update(present=True, vendor=identity.vendor, device_no=identity.device_no)
        except DeviceError as exc:
            row.update(present=False, error=exc.code)
        rows.append(row)
    if args.json:
        print_json(rows)
    elif not rows:
        print("未检测到税控设备 / no tax device plugged in")
    else:
        for row in rows:
            state = "" if row.get("present", True) else f"  (未连接 / absent, {row['error']})"
            print(f"{row['url']}  {row.get('vendor', '')}{state}")
    return EXIT_OK


def _configured(path: Path) -> list[DeviceSpec]:
    """Return the configured devices (none when there is no configuration file)."""
    if not path.exists():
        return []
    try:
        return load_config(path).devices
    except ConfigError as exc:
        print_error(str(exc))
        return []


def read_pin(path: Path | None) -> str:
    """Return the PIN from ``path`` (first line), or the factory default."""
    if path is None:
        return DEFAULT_PIN
    with path.open("rb") as handle:
        raw = handle.read(MAX_PIN_FILE_BYTES + 1)
    if len(raw) > MAX_PIN_FILE_BYTES:
        raise ValueError(f"PIN file {path} is too long to be a PIN file")
    lines = raw.decode("utf-8", "replace").splitlines()
    pin = lines[0].strip() if lines else ""
    if not pin:
        raise ValueError(f"PIN file {path} is empty")
    return pin


def run_device_info(args: argparse.Namespace) -> int:
    """Print one device's snapshot."""
    lang = default_lang()
    try:
        pin = read_pin(args.pin_file)
    except (OSError, ValueError) as exc:
        print_error(f"cannot read the PIN file: {exc}")
        return EXIT_USAGE
    try:
        with open_device(args.url, capture=args.capture) as device:
            snapshot = read_snapshot(device, pin)
    except DeviceError as exc:
        if args.json:
            print_json({"error": {"code": exc.code, "message": describe(exc, lang)}})
        print_error(describe(exc, lang))
        return EXIT_DEVICE
    if args.json:
        print_json(snapshot.to_json())
    else:
        print_snapshot(snapshot, lang)
    return EXIT_OK


def print_snapshot(snapshot: DeviceSnapshot, lang: str) -> None:
    """Print a snapshot as readable text."""
    data = snapshot.to_json()
    zh = lang == "zh"
    print(f"{data['family']} {data['device_no']}  ({data['vendor']})")
    print(f"{'纳税人' if zh else 'Taxpayer'}: {data['taxpayer_name']}  {data['taxpayer_id']}")
    if data["training"]:
        print("培训测试盘，不会清卡" if zh else "Training device: never cleared")
    print(f"{'设备时钟' if zh else 'Device clock'}: {data['clock'].replace('T', ' ')}")
    for row in data["types"]:
        stage_zh, stage_en = STAGE_WORDS[row["stage"]]
        stage = stage_zh if zh else stage_en
        if row["zombie"]:
            stage += "，多月未抄报" if zh else ", several months behind"
        elif row["locked"]:
            stage += "，已锁定" if zh else ", locked"
        days = row["days_to_lock"]
        if days >= 0:
            left = f"还有 {days} 天" if zh else f"{days} days left"
        else:
            left = f"已过 {-days} 天" if zh else f"{-days} days ago"
        print()
        print(f"  {row['type']} {row['name'] if zh else row['name_en']}")
        print(f"    {'状态' if zh else 'Stage'}: {stage}")
        print(f"    {'锁定日期' if zh else 'Locks on'}: {row['lock_date']} ({left})")
        window = " ~ ".join(str(day) for day in row["report_window"])
        print(f"    {'报税期' if zh else 'Report window'}: {window}")
        print(f"    {'最新报税日期' if zh else 'Last report'}: {row['last_report'] or '-'}")
        if row["offline_pending"]:
            label = "未上传离线发票" if zh else "Offline invoices pending"
            print(f"    {label}: {row['offline_pending']}")
