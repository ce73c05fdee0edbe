"""Find the font every label uses: one face that covers Chinese and Latin.

Kivy's bundled Roboto has no Chinese, so a label in Chinese would show empty boxes. The set-up
installs Debian's ``fonts-wqy-microhei`` (listed in tools/system-packages.txt); another file can
be named in the ``[kiosk] font`` setting.
"""

from __future__ import annotations

from pathlib import Path

FONT_PACKAGE = "fonts-wqy-microhei"
# Looked for in this order: the Debian package's file first, then common CJK faces.
CANDIDATES = (
    Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"),
    Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"),
    Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"),
)


class FontMissing(Exception):
    """No font with Chinese glyphs was found."""

    def __init__(self, looked: list[Path]) -> None:
        where = ", ".join(str(p) for p in looked)
        super().__init__(
            f"no font covering Chinese found (looked at {where}); "
            f"install the Debian package {FONT_PACKAGE} or set [kiosk] font"
        )


def find_font(configured: Path | None = None) -> Path:
    """Return the font file to use: ``configured`` if given, else the first one installed."""
    looked = [configured] if configured is not None else list(CANDIDATES)
    for path in looked:
        if path.is_file():
            return path
    raise FontMissing(looked)
