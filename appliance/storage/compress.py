"""Gzip for stored files, with decompression bounded by the size the manifest records."""

from __future__ import annotations

import gzip
import zlib

from appliance.storage.errors import BackupCorrupt

# wbits for "gzip header and trailer only": a zlib or raw deflate stream is not a stored file.
GZIP_WBITS = 16 + zlib.MAX_WBITS


def compress(content: bytes) -> bytes:
    """Return ``content`` gzipped, the same bytes for the same content (no timestamp)."""
    return gzip.compress(content, compresslevel=6, mtime=0)


def decompress(data: bytes, size: int) -> bytes:
    """Return the content of the gzip ``data``, which must be exactly ``size`` bytes long.

    Never produces more than ``size + 1`` bytes, so a gzip bomb on a hostile disk costs no
    more memory than the file it pretends to be. The gzip trailer's CRC-32 and length are
    checked by zlib; a truncated file, trailing bytes or a second member are refused too.
    """
    inflater = zlib.decompressobj(GZIP_WBITS)
    try:
        content = inflater.decompress(data, size + 1)
    except zlib.error as exc:
        raise BackupCorrupt(
            f"not a valid gzip file: {exc}", zh=f"不是有效的 gzip 文件：{exc}"
        ) from exc
    if len(content) > size:
        raise BackupCorrupt(
            f"unpacks to more than the {size} bytes recorded", zh=f"解压后超过记录的 {size} 字节"
        )
    if not inflater.eof:
        raise BackupCorrupt("the gzip file is cut short", zh="gzip 文件不完整")
    if inflater.unused_data:
        raise BackupCorrupt(
            "bytes after the end of the gzip file", zh="gzip 文件结尾之后还有多余字节"
        )
    if len(content) != size:
        raise BackupCorrupt(
            f"unpacks to {len(content)} bytes, {size} recorded",
            zh=f"解压后为 {len(content)} 字节，记录为 {size} 字节",
        )
    return content
