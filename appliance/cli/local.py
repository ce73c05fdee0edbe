"""The commands' work when no daemon runs: the same box, scheduler and PIN guard, in this process.

Each builds the :class:`~appliance.box.Box` the daemon would (and so owns the box while it
runs: a daemon that is running but unreachable holds it, and the command says so instead of
touching a device beside it).
"""

from __future__ import annotations

import argparse
import threading
import time
from typing import Any

from appliance.box import Box, BoxBusy, open_box
from appliance.clearing.classify import J_INTERRUPTED
from appliance.clearing.engine import UnknownDevice
from appliance.clearing.outcomes import Outcome
from appliance.clearing.specs import DeviceSpec
from appliance.cli.connect import config_error_text, fail
from appliance.cli.output import EXIT_BUSY, EXIT_STORAGE, EXIT_USAGE
from appliance.cli.progress import ProgressView
from appliance.daemon.config import ConfigError, DaemonConfig
from appliance.devices.errors import BadDeviceAddress
from appliance.devices.urls import DeviceUrl, forms
from appliance.storage.errors import StorageError


def own_box(args: argparse.Namespace, config: DaemonConfig, **kwargs: Any) -> Box | int:
    """Build the box for this command, or say why not and return the exit code."""
    try:
        return open_box(config, **kwargs)
    except BoxBusy as exc:
        return fail(args, exc.code, exc.zh, exc.en, EXIT_BUSY)
    except StorageError as exc:
        zh, _ = exc.text("zh")
        en, _ = exc.text("en")
        return fail(args, exc.code, zh, en, EXIT_STORAGE)


def clear_here(
    args: argparse.Namespace, config: DaemonConfig, view: ProgressView
) -> tuple[list[Outcome], bool] | int:
    """Clear in this process; return the outcomes, or an exit code when it cannot start.

    The outcomes come with whether every queued device has one: when ``--follow-timeout``
    runs out first, the box is closed, which stops the clearing at its next step boundary.
    """
    try:
        config.bureau_config()
    except ConfigError as exc:
        zh, en = config_error_text(exc, "zh"), config_error_text(exc, "en")
        return fail(args, exc.code, zh, en, EXIT_USAGE)
    if args.device is not None and "://" in args.device:
        try:
            DeviceUrl.parse(args.device).check()
        except BadDeviceAddress as exc:
            zh = f"设备地址有误：{exc.detail}。可用的写法：{forms()}"
            return fail(args, exc.code, zh, f"Bad device address: {exc.detail}", EXIT_USAGE)
    outcomes: dict[str, Outcome] = {}
    arrived = threading.Event()

    def emit(event: dict[str, Any]) -> None:
        if event.get("event") == "step" and not args.json:
            view.step(event)
        elif event.get("event") == "outcome":
            outcome = Outcome.from_json({k: v for k, v in event.items() if k != "event"})
            outcomes[str(event["url"])] = outcome
            # A paused job is this command's own doing (it closed the box): the command says
            # so itself, without the outcome's "retries by itself" that only a service does.
            if not args.json and outcome.code != J_INTERRUPTED:
                view.outcome(outcome)
            arrived.set()

    box = own_box(args, config, emit=emit)
    if isinstance(box, int):
        return box
    with box:
        if args.device is not None and "://" in args.device:
            box.engine.add(DeviceSpec(url=args.device, pin=config.default_pin))
        elif args.device is not None:
            box.read_devices()  # a device number: known once the devices are read
        try:
            queued = box.engine.request_clear(args.device, "cli")
        except UnknownDevice as exc:
            return fail(args, "A-404", f"没有这个设备：{exc}", f"no such device: {exc}", EXIT_USAGE)
        deadline = time.monotonic() + args.follow_timeout
        while set(queued) - set(outcomes) and time.monotonic() < deadline:
            box.engine.tick()
            arrived.wait(0.05)
            arrived.clear()
    # Closing the box waits for the job to reach a step boundary: it may have ended meanwhile.
    done = [outcomes[url] for url in queued if url in outcomes]
    return done, len(done) == len(queued)


def status_here(args: argparse.Namespace, config: DaemonConfig) -> dict[str, Any] | int:
    """Read every configured device once here and return the status the daemon would give."""
    box = own_box(args, config)
    if isinstance(box, int):
        return box
    with box:
        box.read_devices()
        return box.status()
