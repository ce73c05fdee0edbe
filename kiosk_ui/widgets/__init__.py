"""Widgets the screens share: labels, buttons, icons, the device card, overlays."""
