"""Line breaking: between Chinese characters and at spaces, never where a reader stumbles."""

from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st

from kiosk_ui.typeset import CLOSING, OPENING, wrap


def _lines(text: str, width: float) -> list[str]:
    return wrap(text, width, len).split("\n")


def test_no_line_starts_with_closing_punctuation() -> None:
    text = "请核对设备密码后由人工重新设置；本机不会自动重试，以免锁死证书"
    assert text[24] == "，"  # a plain cut at 24 characters would start the next line with it
    lines = _lines(text, 24)
    assert lines == ["请核对设备密码后由人工重新设置；本机不会自动重", "试，以免锁死证书"]
    assert "".join(lines) == text


def test_a_lone_last_character_gets_company() -> None:
    assert _lines("锁定日期 2026-11-16（还有 11 天）", 22) == [
        "锁定日期 2026-11-16（还有",
        "11 天）",
    ]


def test_words_stay_whole_unless_wider_than_the_line() -> None:
    assert _lines("Check the PIN and set it again", 14) == ["Check the PIN", "and set it", "again"]
    assert _lines("Linux-6.6.51-v8+-aarch64", 12) == ["Linux-6.6.", "51-v8+-", "aarch64"]


@given(st.text(alphabet="清卡盒设备密码，。（）ab1 ", max_size=60), st.integers(3, 30))
def test_wrapping_keeps_every_character_and_obeys_the_rules(text: str, width: int) -> None:
    lines = _lines(text, width)
    assert "".join(lines).replace(" ", "") == text.replace("\n", "").replace(" ", "")
    for before, line in itertools.pairwise(lines):
        if line and before:
            # A rule gives way only when one piece alone is wider than the line.
            assert line[0] not in CLOSING or len(before) + 1 > width
            assert before[-1] not in OPENING or len(before) >= width - 1
