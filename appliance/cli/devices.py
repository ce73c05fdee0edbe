"""``qingka devices`` and ``qingka device-info``: what is plugged in, and what it says."""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from appliance.api.errors import ApiError
from appliance.clearing.specs import DeviceSpec
from appliance.cli.connect import (
    config_error_text,
    config_file_argument,
    config_path,
    fail,
    from_daemon,
    socket_argument,
)
from appliance.cli.output import (
    EXIT_BUSY,
    EXIT_DEVICE,
    EXIT_OK,
    EXIT_USAGE,
    default_lang,
    print_json,
    say,
)
from appliance.daemon.config import (
    DEFAULT_PATH,
    ConfigError,
    DaemonConfig,
    load_config,
    parse_config,
    read_secret,
)
from appliance.devices.errors import BadDeviceAddress
from appliance.devices.urls import DeviceUrl, capture_file_problem, forms

STAGE_WORDS = {
    "needs-report": ("待抄报清卡", "needs clearing"),
    "reported-not-cleared": ("已抄报，待清卡", "reported, not cleared"),
    "cleared": ("已清卡", "cleared"),
}
BUSY_ZH = "清卡服务此刻太忙，请稍后再试"
BUSY_EN = "The clearing service is too busy to answer; try again in a moment"
UNREADABLE = {
    "code": "D-000",
    "message_zh": "无法读取设备",
    "message_en": "The device could not be read",
}


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``devices`` and ``device-info``."""
    listing = subparsers.add_parser(
        "devices", help="list the tax devices plugged in, and the configured ones"
    )
    listing.add_argument("--json", action="store_true", help="print JSON for machines")
    _box_arguments(listing)
    listing.set_defaults(handler=run_devices)

    info = subparsers.add_parser(
        "device-info",
        help="show a device's identity, monitor data, stage and lock date",
        description="Device addresses: " + forms(),
    )
    info.add_argument(
        "url", help="usb://VID:PID, serial:///dev/ttyACM0, sim://SCENARIO, replay://FILE"
    )
    info.add_argument("--json", action="store_true", help="print JSON for machines")
    info.add_argument(
        "--pin-file",
        type=Path,
        help="file holding the device PIN, mode 0600 (default: the configured PIN)",
    )
    info.add_argument("--capture", type=Path, help="record every USB transfer to this JSONL file")
    _box_arguments(info)
    info.set_defaults(handler=run_device_info)


def _box_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        type=config_file_argument,
        default=None,
        help=f"configuration file (default {DEFAULT_PATH})",
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        help="the box's data folder, where rejected PINs are remembered (without a configuration)",
    )
    parser.add_argument("--socket", type=socket_argument, help="the daemon's API socket")


def box_config(args: argparse.Namespace) -> DaemonConfig | None:
    """Return the box's configuration, or one with defaults where there is no file."""
    path = config_path(args)
    try:
        if path.exists() or getattr(args, "config", None) is not None:
            config = load_config(path)
        else:
            data = {"data_dir": str(args.data_dir)} if args.data_dir else {}
            config = parse_config(data, path)
    except ConfigError as exc:
        zh, en = config_error_text(exc, "zh"), config_error_text(exc, "en")
        fail(args, exc.code, zh, en, EXIT_USAGE)
        return None
    if args.data_dir and path.exists():
        config = replace(config, data_dir=args.data_dir)
    return config


def _usb_rows() -> list[dict[str, Any]]:
    """Return the known tax devices on the USB bus (descriptors only: nothing is opened)."""
    from appliance.devices.ids import lookup  # noqa: PLC0415 - pyusb only for this listing
    from appliance.devices.usb_pipe import describe as describe_usb  # noqa: PLC0415
    from appliance.devices.usb_pipe import find_devices  # noqa: PLC0415

    rows: list[dict[str, Any]] = []
    for dev in find_devices():
        desc = describe_usb(dev)
        known = lookup(desc.vid, desc.pid, desc.manufacturer)
        if known is not None:
            url = f"usb://{desc.vid_pid}" + (f"?serial={desc.serial}" if desc.serial else "")
            rows.append(
                {"url": url, "vendor": known.vendor, "serial": desc.serial, "source": "usb"}
            )
    return rows


def run_devices(args: argparse.Namespace) -> int:
    """List recognised USB tax devices, then the configured ones with whether they answer."""
    lang = default_lang()
    try:
        state, rows = from_daemon(args, "devices")
    except ApiError as exc:
        return fail(args, exc.code, exc.message_zh, str(exc), EXIT_DEVICE)
    if state == "busy":
        return fail(args, "A-503", BUSY_ZH, BUSY_EN, EXIT_BUSY)
    if rows is None:
        config = box_config(args)
        if config is None:
            return EXIT_USAGE
        from appliance.cli.local import own_box  # noqa: PLC0415 - only without a daemon

        box = own_box(args, config)
        if isinstance(box, int):
            return box
        with box:
            box.read_devices()
            rows = list(box.status()["devices"])
    listed = [
        {
            "url": row["url"],
            "present": row.get("present", False),
            "device_no": (row.get("device") or {}).get("device_no"),
            "vendor": (row.get("device") or {}).get("vendor"),
            "error": (row.get("error") or {}).get("code"),
            "source": "config",
        }
        for row in rows
    ]
    urls = {row["url"] for row in listed}
    listed += [row for row in _usb_rows() if row["url"] not in urls]
    if args.json:
        print_json(listed)
    elif not listed:
        print(say("未检测到税控设备", "No tax device plugged in", lang))
    else:
        for row in listed:
            absent = say(f"  （未连接，{row['error']}）", f"  (absent, {row['error']})", lang)
            state_text = absent if row.get("error") and not row.get("present") else ""
            print(f"{row['url']}  {row.get('vendor') or ''}{state_text}")
    return EXIT_OK


def _with_capture(url: str, capture: Path | None) -> str:
    if capture is None:
        return url
    separator = "&" if "?" in url else "?"
    return f"{url}{separator}capture={capture}"


def run_device_info(args: argparse.Namespace) -> int:
    """Print one device's reading: from the daemon that owns it, else read here."""
    lang = default_lang()
    try:
        DeviceUrl.parse(args.url).check()
    except BadDeviceAddress as exc:
        # Some reasons list the address forms already; once is enough.
        listed = forms() in exc.detail
        return fail(
            args,
            exc.code,
            f"设备地址有误：{exc.detail}" + ("" if listed else f"。可用的写法：{forms()}"),
            f"Bad device address: {exc.detail}" + ("" if listed else f". Use one of: {forms()}"),
            EXIT_USAGE,
        )
    if args.capture is not None:
        # Before any device work: a capture that cannot be written would fail it half-way.
        problem = capture_file_problem(args.capture)
        if problem is not None:
            return fail(args, BadDeviceAddress.code, *problem, EXIT_USAGE)
    try:
        state, rows = from_daemon(args, "devices")
    except ApiError as exc:
        return fail(args, exc.code, exc.message_zh, str(exc), EXIT_DEVICE)
    if state == "busy":
        return fail(args, "A-503", BUSY_ZH, BUSY_EN, EXIT_BUSY)
    row: dict[str, Any] | None = None
    if rows is not None:
        row = next((r for r in rows if r.get("url") == args.url), None)
        if row is None:
            return fail(
                args,
                "C-010",
                "清卡服务正在管理本机的设备，它的配置中没有这个地址；请把设备加入配置，或先停止服务",
                "The running service owns this box's devices and does not know this address; "
                "add it to the configuration, or stop the service first",
                EXIT_BUSY,
            )
    else:
        config = box_config(args)
        if config is None:
            return EXIT_USAGE
        pin = config.default_pin
        if args.pin_file is not None:
            try:
                pin = read_secret(args.pin_file, "--pin-file")
            except ConfigError as exc:
                zh = f"密码文件有误：{exc.problem_zh or exc.problem}"
                return fail(args, exc.code, zh, f"PIN file problem: {exc.problem}", EXIT_USAGE)
        from appliance.cli.local import own_box  # noqa: PLC0415 - only without a daemon

        box = own_box(args, config)
        if isinstance(box, int):
            return box
        url = _with_capture(args.url, args.capture)
        with box:
            box.engine.add(DeviceSpec(url=url, pin=pin))
            box.read_devices()
            row = next(r for r in box.status()["devices"] if r["url"] == url)
    data = row.get("device")
    if data is None:
        error = row.get("error") or UNREADABLE
        message = error.get("message_zh" if lang == "zh" else "message_en", "")
        action = error.get("action_zh" if lang == "zh" else "action_en", "")
        if error.get("code") == BadDeviceAddress.code and error.get("detail"):
            # Which part of the address is wrong says more than "not understood".
            message = f"{message}：{error['detail']}" if lang == "zh" else error["detail"]
        text = f"{message}。{action}" if lang == "zh" else f"{message}. {action}"
        text = text.rstrip("。. ")
        if args.json:
            print_json({"error": {"code": error.get("code"), "message": text}})
        print(f"{text} [{error.get('code')}]", file=sys.stderr)
        # An address the simulator or the replay cannot take is the caller's mistake.
        return EXIT_USAGE if error.get("code") == BadDeviceAddress.code else EXIT_DEVICE
    if args.json:
        print_json(data)
    else:
        print_snapshot(data, lang)
    return EXIT_OK


def print_snapshot(data: dict[str, Any], lang: str) -> None:
    """Print a device reading (the JSON of a snapshot) as readable text."""
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
