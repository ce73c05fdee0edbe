"""The tax device itself: state, clock, signatures, command processor and bulk-only target.

Everything here also runs on MicroPython (DESIGN §6): it is the firmware of the bench device as
well as the heart of the in-process simulator. Dates are protocol ints (``YYYYMMDD`` and
``YYYYMMDDhhmmss``), state is a JSON-ready dict, classes are plain with ``__slots__``.
"""
