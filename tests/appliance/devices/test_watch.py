"""Plug events: a tax device's add or remove lists the bus once, off the daemon's loop; other
USB devices are ignored; without udev the bus is listed every few seconds instead."""

from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from appliance.devices.watch import UsbWatcher, is_tax_device_event

UKEY = "usb://1432:07d0"


@dataclass
class Event:
    """What pyudev hands the watcher: an action and the uevent's properties."""

    action: str
    properties: dict[str, str] = field(default_factory=dict)


class Source:
    """A udev monitor stand-in fed by the test."""

    def __init__(self) -> None:
        self.events: queue.Queue[Event] = queue.Queue()

    def poll(self, timeout: float) -> Event | None:
        try:
            return self.events.get(timeout=timeout)
        except queue.Empty:
            return None


class Bus:
    """The USB bus as a listing sees it, and who listed it from which thread."""

    def __init__(self) -> None:
        self.urls: list[str] = []
        self.listed_from: list[str] = []

    def __call__(self) -> list[str]:
        self.listed_from.append(threading.current_thread().name)
        return list(self.urls)


def wait(condition: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_a_tax_device_plugged_in_is_reported_once_per_event() -> None:
    source, bus, seen = Source(), Bus(), []
    watcher = UsbWatcher(seen.append, source=source, enumerate_bus=bus, poll_s=60)
    watcher.start()
    try:
        wait(lambda: seen == [[]])  # the listing at start
        source.events.put(Event("add", {"PRODUCT": "abcd/1/0"}))  # a keyboard: ignored
        bus.urls = [UKEY]
        source.events.put(Event("add", {"PRODUCT": "1432/7d0/100"}))
        wait(lambda: seen[-1] == [UKEY])
        bus.urls = []
        source.events.put(Event("remove", {"ID_VENDOR_ID": "1432", "ID_MODEL_ID": "07d0"}))
        wait(lambda: seen[-1] == [])
        assert seen == [[], [UKEY], []]
        assert watcher.uses_events
        assert set(bus.listed_from) == {"usb watcher"}
    finally:
        watcher.stop()


def test_without_udev_the_bus_is_listed_every_few_seconds() -> None:
    bus, seen = Bus(), []
    watcher = UsbWatcher(seen.append, source=None, enumerate_bus=bus, poll_s=0.02)
    watcher.start()
    try:
        wait(lambda: len(seen) >= 3)
        assert not watcher.uses_events
    finally:
        watcher.stop()


def test_a_broken_event_source_falls_back_to_listing() -> None:
    class Broken:
        def poll(self, timeout: float) -> None:
            raise OSError("netlink socket closed")

    bus, seen = Bus(), []
    watcher = UsbWatcher(seen.append, source=Broken(), enumerate_bus=bus, poll_s=0.02)
    watcher.start()
    try:
        wait(lambda: len(seen) >= 3)
        assert not watcher.uses_events
    finally:
        watcher.stop()


def test_a_failing_listing_does_not_end_the_watching() -> None:
    calls = {"n": 0}
    seen: list[list[str]] = []

    def flaky() -> list[str]:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("libusb hiccup")
        return [UKEY]

    watcher = UsbWatcher(seen.append, source=None, enumerate_bus=flaky, poll_s=0.02)
    watcher.start()
    try:
        wait(lambda: seen[-1:] == [[UKEY]])
    finally:
        watcher.stop()


@given(st.dictionaries(st.sampled_from(["PRODUCT", "ID_VENDOR_ID", "ID_MODEL_ID"]), st.text()))
def test_any_uevent_properties_are_judged_without_error(properties: dict[str, str]) -> None:
    assert is_tax_device_event(properties) in (True, False)
