"""The pyusb backend: enumeration, descriptors, claims, control requests, unplug and replug."""

from __future__ import annotations

import errno
import struct

import pytest
import usb.control
import usb.core
import usb.util

from appliance.protocol import sense
from simulators.device import SimBackend
from simulators.device import descriptors as d
from tests.simulators.device.conftest import OpenSim
from tests.simulators.device.host import Host


def test_found_by_vid_pid_with_its_strings(open_sim: OpenSim) -> None:
    backend = open_sim()
    dev = usb.core.find(idVendor=0x1432, idProduct=0x07D0, backend=backend)
    assert dev is not None
    assert (backend.vid, backend.pid) == (0x1432, 0x07D0)
    assert dev.manufacturer == "ChinaTax SWUKey"
    assert dev.product == d.PRODUCT
    assert dev.serial_number == backend.serial == "661900000000"
    assert usb.core.find(idVendor=0x1432, idProduct=0x07DC, backend=backend) is None
    assert len(list(usb.core.find(find_all=True, backend=backend))) == 1


def test_descriptors_are_a_full_speed_mass_storage_ukey(open_sim: OpenSim) -> None:
    dev = usb.core.find(backend=open_sim())
    assert dev.bDeviceClass == 0
    assert dev.bcdUSB == 0x0200
    assert dev.speed == usb.util.SPEED_FULL
    config = dev.get_active_configuration()
    assert config.bConfigurationValue == 1
    (interface,) = list(config)
    assert interface.bInterfaceClass == 8
    assert interface.bInterfaceSubClass == 6
    assert interface.bInterfaceProtocol == 0x50
    endpoints = {ep.bEndpointAddress: ep for ep in interface}
    assert set(endpoints) == {0x81, 0x02}
    for ep in endpoints.values():
        assert usb.util.endpoint_type(ep.bmAttributes) == usb.util.ENDPOINT_TYPE_BULK
        assert ep.wMaxPacketSize == 64


def test_raw_descriptors_match_the_objects(open_sim: OpenSim) -> None:
    dev = usb.core.find(backend=open_sim())
    raw = bytes(usb.control.get_descriptor(dev, 18, usb.util.DESC_TYPE_DEVICE, 0))
    fields = struct.unpack("<BBHBBBBHHHBBBB", raw)
    assert fields[7:9] == (0x1432, 0x07D0)
    config = bytes(usb.control.get_descriptor(dev, 64, usb.util.DESC_TYPE_CONFIG, 0))
    assert len(config) == struct.unpack("<H", config[2:4])[0] == 32
    assert config[9 + 5 : 9 + 8] == bytes((8, 6, 0x50))
    assert dev.langids == (0x0409,)
    assert dev.ctrl_transfer(0x80, 0x08, 0, 0, 1).tolist() == [1]
    assert dev.ctrl_transfer(0x80, 0x00, 0, 0, 2).tolist() == [0, 0]
    with pytest.raises(usb.core.USBError) as stalled:
        dev.ctrl_transfer(0xC0, 0x42, 0, 0, 4)
    assert stalled.value.errno == errno.EPIPE


def test_usb_storage_holds_the_interface_until_detached(open_sim: OpenSim) -> None:
    host = Host(open_sim(), claim=False)
    dev = host.dev
    assert dev.is_kernel_driver_active(0)
    with pytest.raises(usb.core.USBError) as busy:
        usb.util.claim_interface(dev, 0)
    assert busy.value.errno == errno.EBUSY
    dev.detach_kernel_driver(0)
    usb.util.claim_interface(dev, 0)
    host.open()
    usb.util.release_interface(dev, 0)
    dev.attach_kernel_driver(0)
    assert dev.is_kernel_driver_active(0)


def test_mass_storage_class_requests(host: Host) -> None:
    assert host.dev.ctrl_transfer(0xA1, 0xFE, 0, 0, 1).tolist() == [0]  # Get Max LUN
    host.dev.write(0x02, b"garbage", 1000)
    with pytest.raises(usb.core.USBError) as stalled:
        host.read(13)
    assert stalled.value.errno == errno.EPIPE
    host.dev.ctrl_transfer(0x21, 0xFF, 0, 0)  # Bulk-Only Mass Storage Reset
    host.dev.ctrl_transfer(0x02, 0x01, 0, 0x81)  # CLEAR_FEATURE(ENDPOINT_HALT) IN
    host.dev.clear_halt(0x02)
    host.open()


def test_usb_reset_keeps_the_session(host: Host) -> None:
    host.open()
    host.dev.write(0x02, b"not a CBW", 1000)
    host.dev.reset()
    host.claim()
    assert host.call("select_type", {"type": "026"}) == {}


def test_unplug_and_replug(open_sim: OpenSim) -> None:
    backend = open_sim()
    host = Host(backend)
    host.open()
    address = host.dev.address
    backend.unplug()
    assert usb.core.find(backend=backend) is None
    with pytest.raises(usb.core.USBError) as gone:
        host.call("read_clock")
    assert gone.value.errno == errno.ENODEV
    backend.replug()
    with pytest.raises(usb.core.USBError):  # a handle from before the unplug stays dead
        host.call("read_clock")
    again = Host(backend)
    assert again.dev.address != address
    assert again.status("identify") == sense.SW_NO_SESSION  # power was lost
    again.open()
    assert again.call("list_types")["types"] == ["007", "026"]


def test_wrong_endpoints_are_refused(host: Host) -> None:
    backend: SimBackend = host.backend
    handle = host.dev._ctx.handle
    with pytest.raises(usb.core.USBError):
        backend.bulk_write(handle, 0x81, 0, bytearray(31), 100)
    with pytest.raises(usb.core.USBError):
        backend.bulk_read(handle, 0x02, 0, bytearray(13), 100)


def test_reading_without_a_command_times_out(host: Host) -> None:
    with pytest.raises(usb.core.USBTimeoutError):
        host.read(64)
