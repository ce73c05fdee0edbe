"""A file system that forgets, on a power cut, everything that was not synced.

:mod:`bench.powerfs.model` holds the volume (what readers see, what a cut keeps) and
:mod:`bench.powerfs.nodes` its inodes; :mod:`bench.powerfs.backing` the real folder below it;
:mod:`bench.powerfs.ops` serves it through FUSE; :mod:`bench.powerfs.server` is the process that
mounts it and takes commands; :mod:`bench.powerfs.client` starts that process and cuts the power.
"""
