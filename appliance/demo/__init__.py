"""The demo: a whole clearing on simulators (device, bureau) with the real daemon, no set-up."""
