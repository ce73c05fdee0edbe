"""``qingka clear``: clear now, through the daemon if it runs, else in this process.

Exit codes (the worst outcome when several devices are cleared):

====  ===========================================================
0     done, or already cleared
10    not due yet (nothing to do; the outcome says from when)
20    retry later (network, bureau or device busy; the box retries)
30    needs a person (PIN, lock, declaration, full disk, ...)
2     bad arguments or configuration
====  ===========================================================
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from appliance.api.client import ApiClient, is_running
from appliance.api.errors import ApiError, ApiUnavailable
from appliance.clearing import classify
from appliance.clearing.bureau_adapter import BureauAdapter
from appliance.clearing.engine import DeviceSpec
from appliance.clearing.job import ClearingJob
from appliance.clearing.journal import Journal
from appliance.clearing.outcomes import EXIT_CODES, Outcome, OutcomeKind
from appliance.clearing.steps import JobStep
from appliance.cli.output import EXIT_USAGE, default_lang, print_error
from appliance.cli.progress import ProgressView
from appliance.daemon.config import DEFAULT_PATH, ConfigError, DaemonConfig, load_config
from appliance.devices.errors import DeviceError
from appliance.devices.urls import open_device
from appliance.storage.backups import BackupStore
from appliance.storage.database import Database

# Severity order for the exit code of a multi-device clear.
_SEVERITY = [
    OutcomeKind.DONE,
    OutcomeKind.ALREADY_CLEARED,
    OutcomeKind.NOT_DUE,
    OutcomeKind.RETRY_LATER,
    OutcomeKind.NEEDS_HUMAN,
]
# How long to follow a clearing through the daemon before giving up watching (it goes on).
FOLLOW_TIMEOUT_S = 600.0


def add_connection_arguments(parser: argparse.ArgumentParser) -> None:
    """Add --config and --socket (shared by the commands that talk to the daemon)."""
    parser.add_argument(
        "--config", type=Path, default=DEFAULT_PATH, help=f"configuration file ({DEFAULT_PATH})"
    )
    parser.add_argument("--socket", type=Path, help="the daemon's API socket")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``clear``."""
    parser = subparsers.add_parser(
        "clear",
        help="clear the tax device(s) now (清卡)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--device", help="device URL or number (default: every device)")
    parser.add_argument("--json", action="store_true", help="print the outcomes as JSON")
    add_connection_arguments(parser)
    parser.set_defaults(handler=run)


def socket_path(args: argparse.Namespace) -> Path | None:
    """Return the API socket to use: --socket, else the configuration's, else None."""
    if args.socket is not None:
        return Path(args.socket)
    try:
        return load_config(args.config).api_socket
    except ConfigError:
        return None


def worst(outcomes: list[Outcome]) -> int:
    """Return the exit code of the worst outcome."""
    if not outcomes:
        return EXIT_CODES[OutcomeKind.RETRY_LATER]
    kind = max((o.kind for o in outcomes), key=_SEVERITY.index)
    return EXIT_CODES[kind]


def run(args: argparse.Namespace) -> int:
    """Clear through the daemon when it runs, else in this process."""
    lang = default_lang()
    view = ProgressView(lang)
    path = socket_path(args)
    if path is not None and is_running(path):
        try:
            outcomes = through_daemon(path, args.device, view, args.json)
        except ApiError as exc:
            print_error(f"{exc} [{exc.code}]")
            return EXIT_USAGE if exc.code == "A-404" else EXIT_CODES[OutcomeKind.RETRY_LATER]
    else:
        try:
            config = load_config(args.config)
        except ConfigError as exc:
            print_error(f"{exc}\n(没有运行中的清卡服务 / no daemon is running)")
            return EXIT_USAGE
        outcomes = in_process(config, args.device, view, args.json)
    if args.json:
        print(json.dumps([o.to_json() for o in outcomes], ensure_ascii=False, indent=2))
    return worst(outcomes)


def through_daemon(
    path: Path, device: str | None, view: ProgressView, quiet: bool
) -> list[Outcome]:
    """Ask the daemon to clear and follow its events until every device has an outcome."""
    with ApiClient(path, timeout=10.0) as client:
        events = client.subscribe(["step", "outcome"])
        try:
            queued = set(client.call("clear", device=device)["queued"])
            outcomes: list[Outcome] = []
            for event in events:
                if event.get("url") not in queued:
                    continue
                if event["event"] == "step" and not quiet:
                    view.step(event)
                elif event["event"] == "outcome":
                    outcome = Outcome.from_json(_outcome_fields(event))
                    outcomes.append(outcome)
                    if not quiet:
                        view.outcome(outcome)
                    queued.discard(event["url"])
                    if not queued:
                        break
        except ApiUnavailable as exc:
            print_error(f"清卡服务连接中断 / lost the daemon: {exc}")
            return []
        finally:
            events.close()
    return outcomes


def _outcome_fields(event: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in event.items() if k not in ("event", "seq", "at", "url")}


def in_process(
    config: DaemonConfig, device: str | None, view: ProgressView, quiet: bool
) -> list[Outcome]:
    """Run the clearing here, on the configured devices (or ``device``)."""
    specs = [s for s in config.devices if device in (None, s.url)]
    if device is not None and not specs:
        specs = [DeviceSpec(url=device, pin=config.default_pin)]
    config.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(config.database_path)
    journal = Journal(db)
    backups = BackupStore(config.backup_dir)
    outcomes = []
    try:
        for spec in specs:
            outcomes.append(_clear_one(config, spec, journal, backups, view, quiet))
    finally:
        db.close()
    return outcomes


def _clear_one(
    config: DaemonConfig,
    spec: DeviceSpec,
    journal: Journal,
    backups: BackupStore,
    view: ProgressView,
    quiet: bool,
) -> Outcome:
    try:
        device = open_device(spec.url)
    except DeviceError as exc:
        outcome = classify.outcome_for(exc, "", None, JobStep.PRECHECK)
    else:
        bureau = BureauAdapter(config.bureau)
        with device:
            job = ClearingJob(
                device,
                bureau,
                backups,
                journal,
                pin=spec.pin,
                expected_taxpayer=spec.expected_taxpayer,
                emit=(lambda event: None) if quiet else view.step,
            )
            outcome = job.run()
        bureau.close()
    if not quiet:
        view.outcome(outcome)
    return outcome
