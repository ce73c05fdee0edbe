"""Pure codecs of the tax device protocol: bytes in, frames out, no I/O.

Every module here also runs on MicroPython (the bench device firmware), so it keeps to the subset
listed in DESIGN §6 and takes its few platform helpers from :mod:`appliance.protocol.compat`.
"""
