"""``qingka update``: install a RAUC bundle, fetch one over HTTPS, check health, mark good.

``health-check`` and ``mark-good`` are what ``qingka-mark-good.service`` runs after a boot;
``check-bundle`` is RAUC's pre-install handler (anti-rollback). Errors print one plain sentence
with its code; every failure exits 1.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from appliance.cli.connect import socket_argument
from appliance.cli.output import EXIT_FAILED, EXIT_OK, default_lang, print_error, print_json

DOWNLOAD_DIR = Path("/var/lib/qingka/updates")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``update``."""
    parser = subparsers.add_parser("update", help="install or fetch a software update (RAUC)")
    commands = parser.add_subparsers(dest="update_command", metavar="WHAT", required=True)

    install = commands.add_parser("install", help="install a bundle file into the inactive slot")
    install.add_argument("bundle", type=Path)
    install.add_argument("--json", action="store_true", help="print the result as JSON")
    install.set_defaults(handler=run_install)

    fetch = commands.add_parser("fetch", help="download a bundle over HTTPS, check its sha256")
    fetch.add_argument("url")
    fetch.add_argument("--sha256", required=True, help="the bundle's sha256 (64 hex digits)")
    fetch.add_argument("--ca", type=Path, help="CA bundle the server must verify against")
    fetch.add_argument("--dir", type=Path, default=DOWNLOAD_DIR, help=f"where ({DOWNLOAD_DIR})")
    fetch.add_argument("--max-mb", type=int, default=1024, help="size cap in MiB (1024)")
    fetch.add_argument("--install", action="store_true", help="install it once downloaded")
    fetch.add_argument("--json", action="store_true", help="print the result as JSON")
    fetch.set_defaults(handler=run_fetch)

    health = commands.add_parser(
        "health-check", help="the daemon answers and can write its data directory"
    )
    health.add_argument("--socket", type=socket_argument, help="the daemon's API socket")
    health.add_argument(
        "--wait", type=float, default=0.0, metavar="SECONDS", help="wait for the daemon this long"
    )
    health.set_defaults(handler=run_health_check)

    good = commands.add_parser(
        "mark-good", help="mark the booted slot good (after a health check) and raise the floor"
    )
    good.add_argument("--socket", type=socket_argument, help="the daemon's API socket")
    good.add_argument("--wait", type=float, default=0.0, metavar="SECONDS")
    good.add_argument(
        "--no-check", action="store_true", help="skip the health check (it already ran)"
    )
    good.set_defaults(handler=run_mark_good)

    check = commands.add_parser(
        "check-bundle", help="RAUC pre-install handler: refuse a bundle older than the box's"
    )
    check.add_argument(
        "directory",
        type=Path,
        nargs="?",
        help="the mounted bundle (default: $RAUC_BUNDLE_MOUNT_POINT)",
    )
    check.set_defaults(handler=run_check_bundle)


def _fail(exc: Exception) -> int:
    from appliance.update.errors import UpdateError, describe  # noqa: PLC0415

    if isinstance(exc, UpdateError):
        print_error(describe(exc, default_lang()))
        print_error(f"  ({exc.detail})")
    else:  # pragma: no cover - only UpdateError reaches here
        print_error(str(exc))
    return EXIT_FAILED


def run_install(args: argparse.Namespace) -> int:
    """Install a local bundle."""
    from appliance.update import UpdateError, install_bundle  # noqa: PLC0415

    try:
        result = install_bundle(args.bundle)
    except UpdateError as exc:
        return _fail(exc)
    if args.json:
        print_json(result.to_json())
    else:
        print(
            f"已安装 {result.version} 到 {result.slot}，重启后生效 / "
            f"installed {result.version} into {result.slot}; it runs after a restart"
        )
    return EXIT_OK


def _progress(received: int, total: int | None) -> None:
    shown = f"{received / 2**20:.1f} MiB" + (f" / {total / 2**20:.1f} MiB" if total else "")
    print(f"\r{shown}", end="", file=sys.stderr, flush=True)


def run_fetch(args: argparse.Namespace) -> int:
    """Download a bundle, then install it if asked."""
    from appliance.update import UpdateError, fetch_bundle, install_bundle  # noqa: PLC0415

    try:
        path = fetch_bundle(
            args.url,
            args.sha256,
            dest_dir=args.dir,
            ca_file=args.ca,
            max_bytes=args.max_mb * 2**20,
            progress=None if args.json else _progress,
        )
        if not args.json:
            print(file=sys.stderr)
        result = install_bundle(path) if args.install else None
    except UpdateError as exc:
        return _fail(exc)
    if args.json:
        print_json({"path": str(path), "install": result.to_json() if result else None})
    else:
        print(path)
        if result is not None:
            print(f"installed {result.version} into {result.slot}")
    return EXIT_OK


def run_health_check(args: argparse.Namespace) -> int:
    """Ask the daemon and probe its data directory."""
    from appliance.update import UpdateError, check_health  # noqa: PLC0415

    try:
        report = check_health(args.socket, wait_s=args.wait)
    except UpdateError as exc:
        return _fail(exc)
    print(
        f"健康 / healthy: daemon answers on {report.socket}, {report.data_dir} writable, "
        f"{report.devices} device(s), up {report.uptime_s:.0f} s"
    )
    return EXIT_OK


def run_mark_good(args: argparse.Namespace) -> int:
    """Check health unless told not to, mark the booted slot good, raise the rollback floor."""
    from appliance.update import UpdateError, check_health, floor  # noqa: PLC0415
    from appliance.update.rauc import Rauc  # noqa: PLC0415

    try:
        if not args.no_check:
            check_health(args.socket, wait_s=args.wait)
        Rauc().mark_good()
        version = floor.read_version(floor.image_version_file())
        if version is not None:
            floor.raise_floor(version)
    except UpdateError as exc:
        return _fail(exc)
    print("已确认本次启动 / the booted slot is marked good")
    return EXIT_OK


def run_check_bundle(args: argparse.Namespace) -> int:
    """Refuse (exit 1) a bundle whose version is below the box's; RAUC then aborts."""
    from appliance.update import UpdateError, floor  # noqa: PLC0415
    from appliance.update.manifest import read_manifest  # noqa: PLC0415

    directory = args.directory or Path(os.environ.get("RAUC_BUNDLE_MOUNT_POINT", ""))
    if not str(directory):
        print_error("no bundle directory: give one or set RAUC_BUNDLE_MOUNT_POINT")
        return EXIT_FAILED
    try:
        manifest = read_manifest(directory)
        floor.check_not_older(manifest.version)
    except UpdateError as exc:
        return _fail(exc)
    return EXIT_OK
