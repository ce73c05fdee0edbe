"""The kiosk's screens, one per module, each with its layout in a ``.kv`` file beside it."""
