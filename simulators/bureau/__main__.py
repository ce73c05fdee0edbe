"""``python -m simulators.bureau --port PORT --data DIR``: the same as ``qingka sim bureau``."""

from __future__ import annotations

import argparse
import sys

from simulators.bureau.cli import add_serve_arguments, serve


def main() -> int:
    """Parse the options and run the simulator."""
    parser = argparse.ArgumentParser(prog="python -m simulators.bureau", description=__doc__)
    return serve(add_serve_arguments(parser).parse_args())


if __name__ == "__main__":
    sys.exit(main())
