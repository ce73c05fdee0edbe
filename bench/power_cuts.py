"""Power cuts: the box loses power at random instants, and nothing it acknowledged may be lost.

Unlike a kill -9 (bench.crash_campaign), a power cut also loses every write that was not synced:
the box's whole data partition (journal database, backups, outbox, configuration, keys) lives on
a FUSE file system (bench.powerfs) that keeps unsynced data in memory and, at a cut, keeps only a
random part of it. The box runs as on the appliance: the real daemon as its own process,
provisioning applying signed sticks, a bureau simulator, simulated devices whose own state is on
a normal disk (a tax device has its own flash).

Each round the office makes a bundle for new devices, the box applies it, the daemon restarts on
the new configuration, and a person asks the daemon to clear every device (the local API's
``clear``; its answer is the acknowledgement). Cuts strike at the n-th change the box makes to its
disk, n drawn at random over the changes the activity makes (so during provisioning, daemon
start, journal commits, backup writes, outbox writes alike), or at a random moment; the box is
restarted on what survived and left to resume. Then, per period cleared: the bureau holds one
upload per invoice type and one clearing, the device's lock date moved, ``qingka backup verify``
passes, and every acknowledged request reached an outcome.

    python -m bench.power_cuts --cuts 300 [--seed N] [--devices 2] [--latency 0.1] [--keep DIR]

bench.power_campaign holds the rounds and the switch, bench.power_checks the checks,
bench.power_box the box and its processes, bench.powerfs the file system.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from bench.power_box import PowerBox
from bench.power_campaign import Campaign
from bench.power_checks import Report
from bench.report import figure, finish, say
from simulators.bureau import spawn

ANCHOR = "2026-11-05T10:00:00"
# Device latency scale: realistic timings, shortened so a clearing takes about a second.
LATENCY = "0.1"


def run_campaign(
    cuts: int, seed: int, devices: int = 2, folder: Path | None = None, latency: str = LATENCY
) -> Report:
    """Run a whole campaign with its own bureau simulator and box."""
    with tempfile.TemporaryDirectory(prefix="qk-pc-", dir="/tmp") as tmp:
        # Below /tmp: the API socket's path must stay short.
        root = folder or Path(tmp)
        with spawn(root / "bureau", now=datetime.fromisoformat(ANCHOR)) as bureau:
            box = PowerBox(root, bureau, latency, ANCHOR)
            try:
                box.install()
                return Campaign(box, seed, cuts, devices).run()
            finally:
                box.close()


def show(report: Report, seed: int, elapsed: float, verbose: bool) -> None:
    """Print the readable lines."""
    if verbose:
        for number, cut in enumerate(report.cut_log, start=1):
            parts = ", ".join(f"{k} {v}" for k, v in sorted(cut.lost.items()) if v) or "nothing"
            at = f"{cut.op} {cut.path}" if cut.op else "a moment"
            say(
                f"cut {number} during {cut.during} at {at}, keeping {cut.keep:.0%} of unsynced:"
                f" {parts}"
            )
    say(
        f"{report.cuts} power cuts over {report.rounds} rounds, {report.periods} periods"
        f" (seed {seed}, {elapsed:.0f} s)"
    )
    say("cut while writing: " + ", ".join(f"{k} {v}" for k, v in sorted(report.where.items())))
    say("cut during: " + ", ".join(f"{k} {v}" for k, v in sorted(report.during.items())))
    say("unsynced parts: " + ", ".join(f"{k} {v}" for k, v in sorted(report.lost_parts.items())))
    say(
        "seconds per activity: "
        + ", ".join(
            f"{k} {v / max(1, report.runs[k]):.2f}" for k, v in sorted(report.seconds.items())
        )
    )
    say(f"periods done: {report.done} of {report.periods}")
    say(f"bureau uploads {report.uploads}, clearings {report.clearings}")
    say(f"duplicate uploads: {report.duplicate_uploads}, clearings: {report.duplicate_clearings}")
    say(f"lock dates moved: {report.locks_moved} of {report.periods}")
    say(f"backups verified: {report.backups_verified}, unverifiable: {report.unverifiable}")
    say(f"backups that did not verify right after a cut: {report.unverifiable_after_cut}")
    say(f"requests acknowledged: {report.acknowledged}, lost: {report.lost}")
    say(f"configurations that did not load after a cut: {report.broken_config}")
    say(
        f"outcomes in the journal {report.outcomes_recorded},"
        f" outcome events waiting in the fleet outbox {report.outcome_events}"
        f" (missing {report.outcomes_without_event}, twice {report.outcome_events_twice})"
    )
    for failure in report.failures:
        say(f"FAILED {failure}")


def figures(report: Report, elapsed: float) -> dict[str, Any]:
    """Return the final JSON line's figures."""
    periods = max(report.periods, 1)
    return {
        "cuts": figure(report.cuts, "cuts", ">= 300"),
        "periods": figure(report.periods, "periods"),
        "done": figure(report.done / periods, "fraction", "1.0"),
        "lost_requests": figure(report.lost, "requests", "0"),
        "duplicate_uploads": figure(report.duplicate_uploads, "periods", "0"),
        "duplicate_clearings": figure(report.duplicate_clearings, "periods", "0"),
        "unverifiable_backups": figure(report.unverifiable, "periods", "0"),
        "unverifiable_after_cut": figure(report.unverifiable_after_cut, "periods", "0"),
        "locks_moved": figure(report.locks_moved / periods, "fraction", "1.0"),
        "broken_config": figure(report.broken_config, "cuts", "0"),
        "acknowledged_requests": figure(report.acknowledged, "requests"),
        "bureau_uploads": figure(report.uploads, "uploads"),
        "bureau_clearings": figure(report.clearings, "clearings"),
        "outcomes_without_fleet_event": figure(report.outcomes_without_event, "outcomes", "0"),
        "outcomes_queued_twice": figure(report.outcome_events_twice, "outcomes", "0"),
        "cut_where": dict(sorted(report.where.items())),
        "cut_during": dict(sorted(report.during.items())),
        "seconds": figure(elapsed, "s"),
    }


def main() -> None:
    """Run the campaign and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cuts", type=int, default=300)
    parser.add_argument("--seed", type=int, default=random.SystemRandom().randrange(1 << 32))
    parser.add_argument("--devices", type=int, default=2, help="devices per bundle")
    parser.add_argument(
        "--latency", default=LATENCY, help=f"device latency scale (default {LATENCY})"
    )
    parser.add_argument("--keep", type=Path, help="keep the campaign's files in this folder")
    parser.add_argument("--verbose", action="store_true", help="one line per cut")
    args = parser.parse_args()
    started = time.monotonic()
    if args.keep is not None:
        args.keep.mkdir(parents=True, exist_ok=True)
    report = run_campaign(args.cuts, args.seed, args.devices, args.keep, args.latency)
    elapsed = time.monotonic() - started
    show(report, args.seed, elapsed, args.verbose)
    finish("power_cuts", figures(report, elapsed))
    sys.exit(0 if report.ok else 1)


if __name__ == "__main__":
    main()
