"""``qingka clear``: clear now, through the daemon if it runs, else in this process.

Exit codes (the worst outcome when several devices are cleared):

    0   done, or already cleared
    10  not due yet (nothing to do; the outcome says from when)
    20  the box goes on by itself (network, bureau or device busy: it retries; or the clearing
        service's job is still running when this command stops watching)
    30  needs a person (PIN, lock, declaration, full disk, ...)
    1   no clearing service runs and --follow-timeout ran out: the clearing, run by this
        command, stopped at a safe point; nothing goes on until it is asked again
    2   bad arguments or configuration
    5   another process owns the devices, or the daemon is too busy to answer
"""

from __future__ import annotations

import argparse
import json
import math
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from appliance.api.client import ApiClient
from appliance.api.errors import ApiError, ApiUnavailable
from appliance.clearing.outcomes import EXIT_CODES, Outcome, OutcomeKind
from appliance.cli.connect import (
    add_connection_arguments,
    daemon_socket,
    fail,
    load_or_fail,
)
from appliance.cli.output import EXIT_BUSY, EXIT_FAILED, EXIT_USAGE, default_lang, print_error, say
from appliance.cli.progress import ProgressView, ticking

# Severity order for the exit code of a multi-device clear.
_SEVERITY = [
    OutcomeKind.DONE,
    OutcomeKind.ALREADY_CLEARED,
    OutcomeKind.NOT_DUE,
    OutcomeKind.RETRY_LATER,
    OutcomeKind.NEEDS_HUMAN,
]
# How long to follow a clearing before giving up watching (the job goes on without us).
FOLLOW_TIMEOUT_S = 600.0
# How often a follower that lost the daemon looks again (it may be restarting).
RECONNECT_S = 1.0
EXIT_GOES_ON = EXIT_CODES[OutcomeKind.RETRY_LATER]
# The outcome of a job paused at a step boundary because its box was closed.
PAUSED_CODE = "J-401"


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``clear``."""
    parser = subparsers.add_parser(
        "clear",
        help="clear the tax device(s) now (清卡)",
        description="Clear now (清卡), through the daemon if it runs, else in this process.",
        epilog=__doc__.split("\n\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--device", type=device_argument, help="device URL or number (default: every device)"
    )
    parser.add_argument("--json", action="store_true", help="print the outcomes as JSON")
    parser.add_argument(
        "--follow-timeout",
        type=follow_timeout,
        default=FOLLOW_TIMEOUT_S,
        metavar="SECONDS",
        help="stop watching after this many seconds (0: watch until every device has an "
        "outcome). Through the clearing service the job goes on; without it, the clearing "
        f"stops at a safe point (default {FOLLOW_TIMEOUT_S:g})",
    )
    add_connection_arguments(parser)
    parser.set_defaults(handler=run)


def device_argument(text: str) -> str:
    """Return ``--device``; an empty one is refused (it is no device, nor "every device")."""
    if not text.strip():
        raise argparse.ArgumentTypeError(
            "设备为空：请给出设备地址或编号，或不用 --device 以清所有设备 / the device is empty: "
            "give a device URL or number, or leave out --device to clear every device"
        )
    return text


def follow_timeout(text: str) -> float:
    """Return ``--follow-timeout`` in seconds: 0 (no limit) or a positive finite number."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(
            f"{text!r}: give a number of seconds, 0 or more (0: watch until the end)"
        )
    return math.inf if value == 0 else value


def worst(outcomes: list[Outcome]) -> int:
    """Return the exit code of the worst outcome."""
    if not outcomes:
        return EXIT_GOES_ON
    kind = max((o.kind for o in outcomes), key=_SEVERITY.index)
    return EXIT_CODES[kind]


def run(args: argparse.Namespace) -> int:
    """Clear through the daemon when it runs, else in this process."""
    lang = default_lang()
    view = ProgressView(lang)
    path, state = daemon_socket(args)
    complete = True
    if state == "running" and path is not None:
        try:
            with ticking(view, not args.json):
                outcomes = through_daemon(path, args.device, view, args.json, args.follow_timeout)
        except ApiError as exc:
            code = EXIT_USAGE if exc.code in ("A-400", "A-404") else EXIT_GOES_ON
            return fail(args, exc.code, exc.message_zh, str(exc), code)
    elif state == "busy":
        return fail(
            args,
            "A-503",
            "清卡服务正在运行，但此刻太忙无法应答；请稍后再试",
            "The clearing service is running but too busy to answer; try again in a moment",
            EXIT_BUSY,
        )
    else:
        config = load_or_fail(args)
        if config is None:
            return EXIT_USAGE
        from appliance.cli.local import clear_here  # noqa: PLC0415 - only without a daemon

        with ticking(view, not args.json):
            result = clear_here(args, config, view)
        if isinstance(result, int):
            return result
        outcomes, complete = result
        # J-401 is a job paused because its box closed: here, because this command stopped.
        if not complete or any(o.code == PAUSED_CODE for o in outcomes):
            # No service runs: nothing goes on in the background once this command stops.
            if args.json:
                print(json.dumps([o.to_json() for o in outcomes], ensure_ascii=False, indent=2))
            print_error(
                say(
                    "等待超时（--follow-timeout）：清卡服务未运行，本命令已让清卡在安全的步骤暂停，"
                    "数据未丢失，不会在后台继续；请再次运行 qingka clear，或启动清卡服务"
                    "（它会接着完成）",
                    "Stopped waiting (--follow-timeout): no clearing service runs, so this "
                    "command paused the clearing safely at a step; nothing is lost, and it does "
                    "not go on by itself. Run qingka clear again, or start the service (it "
                    "finishes the clearing)",
                    lang,
                )
            )
            return EXIT_FAILED
    if args.json:
        print(json.dumps([o.to_json() for o in outcomes], ensure_ascii=False, indent=2))
    elif not outcomes:
        print(
            say(
                "清卡仍在后台进行，本命令不再等待；可用 qingka status 查看结果",
                "The clearing goes on in the background; see how it ends with qingka status",
                lang,
            )
        )
    return worst(outcomes)


def through_daemon(
    path: Path, device: str | None, view: ProgressView, quiet: bool, timeout: float
) -> list[Outcome]:
    """Ask the daemon to clear and follow it until every device has an outcome (or timeout).

    The request is journaled by the daemon before it answers, so a daemon that restarts in
    between still runs it: the follower reconnects and reads the outcome from the status.
    """
    deadline = time.monotonic() + timeout
    # Closing a client closes its subscriptions too: the stream gets a client of its own.
    events: Iterator[dict[str, Any]] = ApiClient(path, timeout=10.0).subscribe(["step", "outcome"])
    try:
        with ApiClient(path, timeout=10.0) as client:
            reply = client.call("clear", device=device)
    except BaseException:
        _close(events)
        raise
    queued = set(reply["queued"])
    since = _moment(reply.get("requested_at"))
    outcomes: dict[str, Outcome] = {}
    while queued - set(outcomes) and time.monotonic() < deadline:
        try:
            for event in _until(events, deadline):
                url = str(event.get("url"))
                if url not in queued or url in outcomes:
                    continue
                if event["event"] == "step" and not quiet:
                    view.step(event)
                elif event["event"] == "outcome":
                    outcome = Outcome.from_json(_outcome_fields(event))
                    outcomes[url] = outcome
                    if not quiet:
                        view.outcome(outcome)
                    if not queued - set(outcomes):
                        break
        except ApiUnavailable:
            pass  # the daemon went away: it resumes the request when it is back
        finally:
            _close(events)
        if not queued - set(outcomes):
            break
        events = _reconnect(path, queued, outcomes, since, view, quiet, deadline)
    return [outcomes[url] for url in sorted(outcomes)]


def _until(events: Iterator[dict[str, Any]], deadline: float) -> Iterator[dict[str, Any]]:
    """Yield events until ``deadline`` (a watchdog thread closes the stream then)."""
    if math.isinf(deadline):
        yield from events
        return
    closer = threading.Timer(max(0.0, deadline - time.monotonic()), _close, (events,))
    closer.daemon = True
    closer.start()
    try:
        yield from events
    finally:
        closer.cancel()


def _close(events: Iterator[dict[str, Any]]) -> None:
    close = getattr(events, "close", None)
    if close is not None:
        close()


def _reconnect(
    path: Path,
    queued: set[str],
    outcomes: dict[str, Outcome],
    since: datetime | None,
    view: ProgressView,
    quiet: bool,
    deadline: float,
) -> Iterator[dict[str, Any]]:
    """Wait for the daemon to come back; take outcomes it reached meanwhile from its status."""
    while time.monotonic() < deadline:
        try:
            events: Iterator[dict[str, Any]] = ApiClient(path, timeout=5.0).subscribe(
                ["step", "outcome"]
            )
            with ApiClient(path, timeout=5.0) as client:
                rows = client.call("devices")
        except ApiError:
            time.sleep(RECONNECT_S)
            continue
        for row in rows:
            url, last = row.get("url"), row.get("last_outcome")
            if url in queued and url not in outcomes and last:
                outcome = Outcome.from_json(last)
                if since is None or (outcome.at is not None and outcome.at >= since):
                    outcomes[url] = outcome
                    if not quiet:
                        view.outcome(outcome)
        return events
    return iter(())


def _moment(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _outcome_fields(event: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in event.items() if k not in ("event", "seq", "url")}
