"""CRC-16/X-25, the checksum of the NISEC/UKey CDB check byte and of our serial frames.

Parameters: poly 0x1021 reflected (0x8408), init 0xFFFF, xorout 0xFFFF, reflected in and out.
Check value over ASCII "123456789" is 0x906E.
"""


def _make_table() -> list[int]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x8408 if crc & 1 else crc >> 1
        table.append(crc)
    return table


_TABLE = _make_table()


def crc16_x25(data: bytes, crc: int = 0xFFFF) -> int:
    """Return the CRC-16/X-25 of ``data``.

    ``crc`` lets a caller continue over several chunks: pass the *internal* register from
    :func:`crc16_x25_update` instead of this function's final value.
    """
    return crc16_x25_update(data, crc) ^ 0xFFFF


def crc16_x25_update(data: bytes, crc: int = 0xFFFF) -> int:
    """Feed ``data`` into the CRC register and return the register (without the final xor)."""
    table = _TABLE
    for byte in data:
        crc = (crc >> 8) ^ table[(crc ^ byte) & 0xFF]
    return crc


def check_byte(data: bytes) -> int:
    """Return the one-byte check of the vendor CDB: CRC-16/X-25 high byte XOR low byte."""
    crc = crc16_x25(data)
    return (crc >> 8) ^ (crc & 0xFF)
