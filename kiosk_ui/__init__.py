"""QingKa Box kiosk: the touchscreen app, which talks only to the daemon's local API."""
