"""The USB descriptors of the simulated UKey: what enumeration shows before any command.

A tax UKey is a full-speed USB mass-storage device (class at interface level: 8 / 6 SCSI /
0x50 bulk-only) with one bulk endpoint each way, 64-byte packets. pyusb reads the fields as
attributes of the objects below; the raw bytes answer GET_DESCRIPTOR on the control pipe.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

# The UKey row of the driver's VID:PID + manufacturer table (appliance/devices/ids.py) this
# simulator presents itself as.
VENDOR_ID = 0x1432
PRODUCT_ID = 0x07D0
MANUFACTURER = "ChinaTax SWUKey"
PRODUCT = "Tax UKey (QingKa simulator)"
LANGID_EN_US = 0x0409
STRING_MANUFACTURER = 1
STRING_PRODUCT = 2
STRING_SERIAL = 3

EP_IN = 0x81
EP_OUT = 0x02
MAX_PACKET = 64
CONFIGURATION_VALUE = 1
INTERFACE_NUMBER = 0
SPEED_FULL = 2  # usb.util.SPEED_FULL

DT_DEVICE = 1
DT_CONFIG = 2
DT_STRING = 3
DT_INTERFACE = 4
DT_ENDPOINT = 5


@dataclass
class DeviceDescriptor:
    """Standard device descriptor plus the bus facts pyusb reads from a backend."""

    idVendor: int  # noqa: N815 - USB field names, as pyusb reads them
    idProduct: int  # noqa: N815
    bus: int
    address: int
    bLength: int = 18  # noqa: N815
    bDescriptorType: int = DT_DEVICE  # noqa: N815
    bcdUSB: int = 0x0200  # noqa: N815
    bDeviceClass: int = 0  # noqa: N815 - class given per interface
    bDeviceSubClass: int = 0  # noqa: N815
    bDeviceProtocol: int = 0  # noqa: N815
    bMaxPacketSize0: int = MAX_PACKET  # noqa: N815
    bcdDevice: int = 0x0100  # noqa: N815
    iManufacturer: int = STRING_MANUFACTURER  # noqa: N815
    iProduct: int = STRING_PRODUCT  # noqa: N815
    iSerialNumber: int = STRING_SERIAL  # noqa: N815
    bNumConfigurations: int = 1  # noqa: N815
    port_number: int = 1
    port_numbers: tuple[int, ...] = (1,)
    speed: int = SPEED_FULL

    def to_bytes(self) -> bytes:
        """Return the 18 bytes of GET_DESCRIPTOR(DEVICE)."""
        return struct.pack(
            "<BBHBBBBHHHBBBB",
            self.bLength,
            self.bDescriptorType,
            self.bcdUSB,
            self.bDeviceClass,
            self.bDeviceSubClass,
            self.bDeviceProtocol,
            self.bMaxPacketSize0,
            self.idVendor,
            self.idProduct,
            self.bcdDevice,
            self.iManufacturer,
            self.iProduct,
            self.iSerialNumber,
            self.bNumConfigurations,
        )


@dataclass
class EndpointDescriptor:
    """Standard endpoint descriptor of a bulk endpoint."""

    bEndpointAddress: int  # noqa: N815
    bLength: int = 7  # noqa: N815
    bDescriptorType: int = DT_ENDPOINT  # noqa: N815
    bmAttributes: int = 2  # noqa: N815 - bulk
    wMaxPacketSize: int = MAX_PACKET  # noqa: N815
    bInterval: int = 0  # noqa: N815
    bRefresh: int = 0  # noqa: N815
    bSynchAddress: int = 0  # noqa: N815
    extra_descriptors: list[int] = field(default_factory=list)

    def to_bytes(self) -> bytes:
        """Return the 7 bytes of the endpoint descriptor."""
        return struct.pack(
            "<BBBBHB",
            self.bLength,
            self.bDescriptorType,
            self.bEndpointAddress,
            self.bmAttributes,
            self.wMaxPacketSize,
            self.bInterval,
        )


@dataclass
class InterfaceDescriptor:
    """Standard interface descriptor of the mass-storage interface."""

    bLength: int = 9  # noqa: N815
    bDescriptorType: int = DT_INTERFACE  # noqa: N815
    bInterfaceNumber: int = INTERFACE_NUMBER  # noqa: N815
    bAlternateSetting: int = 0  # noqa: N815
    bNumEndpoints: int = 2  # noqa: N815
    bInterfaceClass: int = 0x08  # noqa: N815 - mass storage
    bInterfaceSubClass: int = 0x06  # noqa: N815 - SCSI transparent command set
    bInterfaceProtocol: int = 0x50  # noqa: N815 - bulk-only transport
    iInterface: int = 0  # noqa: N815
    extra_descriptors: list[int] = field(default_factory=list)

    def to_bytes(self) -> bytes:
        """Return the 9 bytes of the interface descriptor."""
        return struct.pack(
            "<BBBBBBBBB",
            self.bLength,
            self.bDescriptorType,
            self.bInterfaceNumber,
            self.bAlternateSetting,
            self.bNumEndpoints,
            self.bInterfaceClass,
            self.bInterfaceSubClass,
            self.bInterfaceProtocol,
            self.iInterface,
        )


@dataclass
class ConfigurationDescriptor:
    """Standard configuration descriptor: one interface, bus powered, 100 mA."""

    bLength: int = 9  # noqa: N815
    bDescriptorType: int = DT_CONFIG  # noqa: N815
    wTotalLength: int = 9 + 9 + 7 + 7  # noqa: N815
    bNumInterfaces: int = 1  # noqa: N815
    bConfigurationValue: int = CONFIGURATION_VALUE  # noqa: N815
    iConfiguration: int = 0  # noqa: N815
    bmAttributes: int = 0x80  # noqa: N815
    bMaxPower: int = 50  # noqa: N815 - in 2 mA units
    extra_descriptors: list[int] = field(default_factory=list)

    def to_bytes(self) -> bytes:
        """Return the 9-byte header of GET_DESCRIPTOR(CONFIGURATION)."""
        return struct.pack(
            "<BBHBBBBB",
            self.bLength,
            self.bDescriptorType,
            self.wTotalLength,
            self.bNumInterfaces,
            self.bConfigurationValue,
            self.iConfiguration,
            self.bmAttributes,
            self.bMaxPower,
        )


INTERFACE = InterfaceDescriptor()
ENDPOINTS = (EndpointDescriptor(EP_IN), EndpointDescriptor(EP_OUT))
CONFIGURATION = ConfigurationDescriptor()


def configuration_bytes() -> bytes:
    """Return the whole configuration: header, interface and endpoints, as the host reads it."""
    return (
        CONFIGURATION.to_bytes()
        + INTERFACE.to_bytes()
        + b"".join(endpoint.to_bytes() for endpoint in ENDPOINTS)
    )


def string_bytes(text: str) -> bytes:
    """Return a string descriptor (UTF-16LE), cut to the 255-byte descriptor limit."""
    raw = text.encode("utf-16-le")[:252]
    return bytes((2 + len(raw), DT_STRING)) + raw


def langid_bytes() -> bytes:
    """Return string descriptor 0: the one language the strings are in."""
    return bytes((4, DT_STRING)) + struct.pack("<H", LANGID_EN_US)
