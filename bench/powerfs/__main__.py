"""``python -m bench.powerfs MOUNTPOINT [--backing DIR]``: see :mod:`bench.powerfs.server`."""

from bench.powerfs.server import main

main()
