"""``qingka fleet``: watch every box, send one a command, forget one, run a collector.

Every subcommand logs in to the fleet broker as a fleet user (``--broker``, ``--ca``, ``--user``,
``--password-file`` or ``--cert``/``--key``; the same settings can come from QINGKA_FLEET_*
environment variables). paho and the fleet package are imported inside the handlers: every
``qingka`` invocation imports this module.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from appliance.cli.output import EXIT_FAILED, EXIT_OK, EXIT_USAGE, default_lang, print_error

if TYPE_CHECKING:
    import paho.mqtt.client as mqtt

    from fleet.connect import BrokerAccess

EXIT_TIMEOUT = 20
# The longest the first board waits for the retained state of every box.
RETAINED_LIMIT_S = 10.0


def _env(name: str) -> str | None:
    return os.environ.get(f"QINGKA_FLEET_{name}") or None


def add_broker_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options that say how to reach and log in to the broker."""
    group = parser.add_argument_group("broker")
    group.add_argument("--broker", default=_env("BROKER"), help="mqtts://HOST[:PORT]")
    group.add_argument("--ca", type=Path, default=_env("CA"), help="CA certificate of the broker")
    group.add_argument("--user", default=_env("USER") or "fleet", help="MQTT user (fleet)")
    group.add_argument(
        "--password-file", type=Path, default=_env("PASSWORD_FILE"), help="password (mode 0600)"
    )
    group.add_argument("--cert", type=Path, default=_env("CERT"), help="client certificate")
    group.add_argument("--key", type=Path, default=_env("KEY"), help="client key (mode 0600)")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``fleet`` and its subcommands."""
    parser = subparsers.add_parser("fleet", help="watch and command the boxes over MQTT")
    commands = parser.add_subparsers(dest="fleet_command", metavar="SUBCOMMAND", required=True)

    watch = commands.add_parser("watch", help="a live table of every box, most urgent first")
    add_broker_arguments(watch)
    watch.add_argument("--store", help="read a collector's store (sqlite:///… or postgresql://…)")
    watch.add_argument("--json", action="store_true", help="print JSON rows")
    watch.add_argument("--once", action="store_true", help="print once and exit")
    watch.add_argument("--seconds", type=float, help="stop after this many seconds")
    watch.set_defaults(handler=run_watch)

    clear = commands.add_parser("clear", help="clear a box's devices and print the result")
    add_broker_arguments(clear)
    clear.add_argument("box", help="box id")
    clear.add_argument("device", nargs="?", help="device number (default: every device)")
    clear.add_argument("--site", help="the box's site (default: read from the broker)")
    clear.add_argument("--timeout", type=float, default=600.0, help="seconds to wait (600)")
    clear.add_argument("--json", action="store_true", help="print the results as JSON")
    clear.set_defaults(handler=run_clear)

    forget = commands.add_parser("forget", help="empty a removed box's retained state")
    add_broker_arguments(forget)
    forget.add_argument("box", help="box id")
    forget.add_argument("--discovery-prefix", default="homeassistant")
    forget.set_defaults(handler=run_forget)

    collect = commands.add_parser("collect", help="run a collector (store + Prometheus metrics)")
    add_broker_arguments(collect)
    collect.add_argument(
        "--store", default="sqlite:///fleet.db", help="sqlite:///… or postgresql://…"
    )
    collect.add_argument("--group", default="qingka", help="shared subscription group")
    collect.add_argument("--name", default="collector-1", help="this collector's client id")
    collect.add_argument("--metrics-port", type=int, default=9464, help="Prometheus port (0: none)")
    collect.add_argument("--metrics-host", default="127.0.0.1")
    collect.set_defaults(handler=run_collect)


def _access(args: argparse.Namespace) -> BrokerAccess:
    from appliance.daemon.config import ConfigError, read_secret  # noqa: PLC0415
    from fleet.connect import BrokerAccess  # noqa: PLC0415

    if not args.broker or not args.ca:
        raise ValueError("--broker and --ca are needed (or QINGKA_FLEET_BROKER, QINGKA_FLEET_CA)")
    password = None
    if args.password_file:
        try:
            password = read_secret(args.password_file, "--password-file")
        except ConfigError as exc:
            raise ValueError(str(exc)) from None
    return BrokerAccess.from_url(args.broker, args.ca, args.user, password, args.cert, args.key)


def _connected(args: argparse.Namespace, client_id: str = "") -> mqtt.Client:
    from fleet.connect import connect_and_wait, make_client  # noqa: PLC0415

    access = _access(args)
    client = make_client(access, client_id)
    connect_and_wait(client, access)
    return client


def run_watch(args: argparse.Namespace) -> int:
    """Print the board, live from the broker or from a store."""
    from fleet.board import Board  # noqa: PLC0415
    from fleet.connect import subscribe_and_wait  # noqa: PLC0415
    from fleet.errors import FleetSideError  # noqa: PLC0415
    from fleet.remote import QUIET_S  # noqa: PLC0415

    lang = default_lang()
    try:
        if args.store:
            from fleet.store import open_store  # noqa: PLC0415

            with open_store(args.store) as store:
                _show(store.rows(), args.json, lang)
            return EXIT_OK
        client = _connected(args)
    except (FleetSideError, ValueError) as exc:
        print_error(str(exc))
        return EXIT_USAGE
    board = Board()
    lock = threading.Lock()  # paho's thread applies, this one reads
    changed = [True]
    heard = [time.monotonic()]

    def on_message(c: Any, u: Any, message: Any) -> None:
        try:
            with lock:
                heard[0] = time.monotonic()
                if board.apply(message.topic, bytes(message.payload)):
                    changed[0] = True
        except FleetSideError as exc:
            print_error(f"{message.topic}: {exc}")

    client.on_message = on_message
    try:
        subscribe_and_wait(client, ["qingka/#"])
    except FleetSideError as exc:
        client.disconnect()
        client.loop_stop()
        print_error(str(exc))
        return EXIT_FAILED
    # The retained state follows the confirmation: the first board waits until it stopped coming.
    confirmed = time.monotonic()
    while time.monotonic() - confirmed < RETAINED_LIMIT_S:
        with lock:
            if time.monotonic() - max(heard[0], confirmed) >= QUIET_S:
                break
        time.sleep(0.05)
    end = None if args.seconds is None else time.monotonic() + args.seconds
    try:
        while True:
            with lock:
                rows = board.rows() if changed[0] else None
                changed[0] = False
            if rows is not None:
                if not args.once and not args.json and sys.stdout.isatty():
                    print("\033[H\033[2J", end="")
                _show(rows, args.json, lang)
            if args.once or (end is not None and time.monotonic() >= end):
                break
            time.sleep(1.0)
    finally:
        client.disconnect()
        client.loop_stop()
    return EXIT_OK


def _show(rows: list[dict[str, Any]], as_json: bool, lang: str) -> None:
    from fleet.board import render  # noqa: PLC0415

    if as_json:
        print(json.dumps(rows, ensure_ascii=False), flush=True)
    else:
        print(render(rows, lang), flush=True)


def run_clear(args: argparse.Namespace) -> int:
    """Send ``clear`` to a box and print what it answers."""
    from appliance.clearing.outcomes import EXIT_CODES, OutcomeKind  # noqa: PLC0415
    from appliance.health.topics import BoxTopics  # noqa: PLC0415
    from fleet.errors import FleetSideError  # noqa: PLC0415
    from fleet.remote import find_site, send_command  # noqa: PLC0415

    lang = default_lang()
    try:
        client = _connected(args)
        site = args.site or find_site(client, args.box)
    except (FleetSideError, ValueError) as exc:
        print_error(str(exc))
        return EXIT_USAGE
    topics = BoxTopics(site, args.box)
    command_args = {"device": args.device} if args.device else {}

    def show(result: Any) -> None:
        if args.json:
            print(json.dumps(result.body, ensure_ascii=False), flush=True)
            return
        body = result.body
        if result.state == "accepted":
            print(
                ("已受理：" if lang == "zh" else "accepted: ") + ", ".join(body["result"]["queued"])
            )
        elif result.state == "refused":
            error = body.get("error", {})
            print(f"{error.get('message_' + lang, '')} [{error.get('code', '')}]")
        else:
            for outcome in body.get("result", {}).get("outcomes", []):
                print(
                    f"{outcome.get('device_no', '')}: {outcome.get('kind')} "
                    f"{outcome.get('message_' + lang, '')} [{outcome.get('code', '')}]"
                )

    try:
        results = send_command(
            client,
            topics,
            "clear",
            command_args,
            sender=f"cli-{os.getpid()}",
            timeout=args.timeout,
            on_result=show,
        )
    finally:
        client.disconnect()
        client.loop_stop()
    final = [r for r in results if r.state != "accepted"]
    if not final:
        print_error("没有等到结果 / no final result in time")
        return EXIT_TIMEOUT
    if final[-1].state == "refused":
        return EXIT_FAILED
    kinds = [o.get("kind") for o in final[-1].body.get("result", {}).get("outcomes", [])]
    codes = [EXIT_CODES.get(OutcomeKind(k), EXIT_FAILED) for k in kinds if k in _KINDS]
    return max(codes, default=EXIT_OK)


_KINDS = ("done", "already-cleared", "not-due", "needs-human", "retry-later")


def run_forget(args: argparse.Namespace) -> int:
    """Empty the retained messages of a box that was removed."""
    from fleet.errors import FleetSideError  # noqa: PLC0415
    from fleet.remote import forget  # noqa: PLC0415

    try:
        client = _connected(args)
    except (FleetSideError, ValueError) as exc:
        print_error(str(exc))
        return EXIT_USAGE
    try:
        topics = forget(client, args.box, args.discovery_prefix)
    finally:
        client.disconnect()
        client.loop_stop()
    for topic in topics:
        print(topic)
    print(f"{len(topics)} retained topics emptied", file=sys.stderr)
    return EXIT_OK


def run_collect(args: argparse.Namespace) -> int:
    """Run a collector until interrupted."""
    from fleet.collector import run_collector  # noqa: PLC0415
    from fleet.errors import FleetSideError  # noqa: PLC0415

    try:
        access = _access(args)
        return run_collector(
            access,
            args.store,
            group=args.group,
            name=args.name,
            metrics=(args.metrics_host, args.metrics_port) if args.metrics_port else None,
        )
    except (FleetSideError, ValueError) as exc:
        print_error(str(exc))
        return EXIT_USAGE
