"""The topic tree of one box (DESIGN §8), in one place for the box, the fleet and the docs.

``qingka/<site>/<box>/`` holds everything the box says; the broker's ACL lets a box write only
there and read only its own ``cmd``. Home Assistant's discovery lives under its own prefix with
the box id as the node id, so the same ``%u`` pattern covers it.
"""

from __future__ import annotations

from dataclasses import dataclass

ROOT = "qingka"
STATUS_ONLINE = "online"
STATUS_OFFLINE = "offline"
HA_STATUS = "status"  # <discovery_prefix>/status: Home Assistant's birth and will
# A response topic longer than this is not one a fleet tool makes (theirs are under 200).
MAX_RESPONSE_TOPIC_CHARS = 512


@dataclass(frozen=True)
class BoxTopics:
    """The topics of one box."""

    site: str
    box: str
    discovery_prefix: str = "homeassistant"

    @property
    def root(self) -> str:
        """Return ``qingka/<site>/<box>``."""
        return f"{ROOT}/{self.site}/{self.box}"

    @property
    def status(self) -> str:
        """Retained ``online``/``offline``; the Last Will says ``offline``."""
        return f"{self.root}/status"

    @property
    def health(self) -> str:
        """Retained health JSON."""
        return f"{self.root}/health"

    @property
    def events(self) -> str:
        """Events, QoS 1, each with an id."""
        return f"{self.root}/events"

    @property
    def cmd(self) -> str:
        """Commands to the box."""
        return f"{self.root}/cmd"

    @property
    def cmd_result(self) -> str:
        """Command results when the request named no v5 response topic."""
        return f"{self.root}/cmd/result"

    def availability(self, device_no: str) -> str:
        """Retained ``online``/``offline`` of one tax device."""
        return f"{self.root}/devices/{device_no}/availability"

    def alert(self, name: str) -> str:
        """Retained while the alert holds, emptied when it is resolved."""
        return f"{self.root}/alerts/{name}"

    def discovery(self, object_id: str) -> str:
        """Home Assistant device discovery: node id the box, object id the device (or ``box``)."""
        return f"{self.discovery_prefix}/device/{self.box}/{object_id}/config"

    @property
    def ha_status(self) -> str:
        """Where Home Assistant announces itself."""
        return f"{self.discovery_prefix}/{HA_STATUS}"

    def owns_result_topic(self, topic: str) -> bool:
        """Tell whether a v5 response topic lies where this box may publish results.

        A topic name, not a filter: ``+`` or ``#`` in it would make the publish itself fail
        (the command would run with no answer), so such a topic is not the box's to use.
        """
        if len(topic) > MAX_RESPONSE_TOPIC_CHARS or any(c in topic for c in "+#\0"):
            return False
        return topic == self.cmd_result or topic.startswith(self.cmd_result + "/")


def split_box_topic(topic: str) -> tuple[str, str, str] | None:
    """Return (site, box, rest) of ``qingka/<site>/<box>/<rest>``, or None for other topics."""
    parts = topic.split("/", 3)
    if len(parts) != 4 or parts[0] != ROOT or not parts[1] or not parts[2] or not parts[3]:
        return None
    return parts[1], parts[2], parts[3]
