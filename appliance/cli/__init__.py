"""The ``qingka`` command line."""
