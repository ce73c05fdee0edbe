"""Signed USB-stick bundles: the office tools and the box side (docs/provisioning.md)."""
