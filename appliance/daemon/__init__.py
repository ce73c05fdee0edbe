"""The QingKa daemon: the process that runs the clearing and serves the local API."""
