"""Load a generated configuration the way the daemon and the kiosk will, before it is used."""

from __future__ import annotations

import tomllib
from pathlib import Path

from appliance.daemon import config as daemon_config
from appliance.daemon.config import ConfigError, check_startable, load_config, read_toml
from kiosk_ui.settings import SettingsError
from kiosk_ui.settings import parse as parse_kiosk
from provisioning.errors import ConfigRefused
from provisioning.render import CONFIG_NAME


def check_generation(generation: Path) -> None:
    """Raise :class:`ConfigRefused` unless the daemon and the kiosk accept ``generation``."""
    path = generation / CONFIG_NAME
    try:
        # The daemon's own start checks too (the bureau, a CA it can load): a generation it
        # would refuse at start would leave it restarting in a loop.
        check_startable(load_config(path))
        parse_kiosk(read_toml(path), generation)
    except ConfigError as exc:
        raise ConfigRefused(exc.located()) from None
    except SettingsError as exc:
        raise ConfigRefused(f"{exc.key}: {exc.problem}") from None
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigRefused(str(exc)[:200]) from None


def daemon_knows(table: str) -> bool:
    """Tell whether this box's daemon accepts a top-level ``table`` in its configuration.

    A daemon that checks its keys refuses a table it does not know (a ``[fleet]`` table before
    the fleet reporting is installed); an older one ignores unknown tables.
    """
    known = getattr(daemon_config, "KNOWN_KEYS", None)
    if not isinstance(known, dict):
        return True
    extensions = getattr(daemon_config, "EXTENSIONS", {})
    return table in (known.get("") or ()) or table in extensions
