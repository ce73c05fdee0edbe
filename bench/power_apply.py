"""Apply a stick as ``qingka provision apply --root ROOT`` does, with systemd played by a recorder.

    python -m bench.power_apply STICK --root ROOT

The power-cut campaign runs this in place of the command so that no ``systemctl``, ``nmcli`` or
``journalctl`` of the machine running the benchmark is ever called, and the box's identity comes
from ``ROOT/machine-id``. Everything else is the command's own code: the same
:class:`~provisioning.apply.Applier`, the same file operations on the box's data partition.
Prints the outcome's summary as JSON; exits 0 when the stick was applied or enrolled.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from provisioning.apply import Applier
from provisioning.paths import Owners, Paths
from provisioning.services import RunResult


def recorder(command: Sequence[str]) -> RunResult:
    """Answer every service command as done; there is no journal to read."""
    return RunResult(1, "") if command[0] == "journalctl" else RunResult(0, "")


def main() -> None:
    """Apply one stick and print what came of it."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("stick", type=Path)
    parser.add_argument("--root", type=Path, required=True)
    args = parser.parse_args()
    applier = Applier(
        Paths.under(args.root),
        runner=recorder,
        installer=None,
        owners=Owners(),
        id_sources=[args.root / "machine-id"],
        health_wait_s=0.0,
    )
    outcome = applier.apply(args.stick)
    print(json.dumps(outcome.summary(), ensure_ascii=False), flush=True)
    sys.exit(0 if outcome.ok else 1)


if __name__ == "__main__":
    main()
