"""Backups go only where the export location allows: links resolved, inside it, a directory."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from appliance.api.errors import ApiError
from appliance.api.export_dir import check_export_dir


@pytest.fixture
def tree(tmp_path: Path) -> dict[str, Path]:
    """``media`` (the export location) with a stick in it, and places outside it."""
    media = tmp_path / "media"
    stick = media / "usb"
    stick.mkdir(parents=True)
    (stick / "backups").mkdir()
    (stick / "file.txt").write_text("x")
    outside = tmp_path / "var-lib-qingka"
    outside.mkdir()
    (tmp_path / "media2").mkdir()  # shares a prefix with "media", is not under it
    (stick / "escape").symlink_to(outside)
    (tmp_path / "way-in").symlink_to(stick)
    (stick / "loop").symlink_to(stick / "loop")
    return {"media": media, "stick": stick, "outside": outside, "root": tmp_path}


def _refused(requested: Path, allowed: Path, reason: str) -> ApiError:
    with pytest.raises(ApiError) as caught:
        check_export_dir(requested, allowed)
    error = caught.value
    assert error.code == "A-403"
    assert error.details == {"arg": "directory", "reason": reason}
    assert error.message and error.message_zh and error.message != error.message_zh
    return error


def test_a_directory_on_the_stick_is_allowed(tree: dict[str, Path]) -> None:
    assert check_export_dir(tree["stick"], tree["media"]) == tree["stick"].resolve()
    assert (
        check_export_dir(tree["stick"] / "backups", tree["media"])
        == (tree["stick"] / "backups").resolve()
    )


def test_the_export_location_itself_is_allowed(tree: dict[str, Path]) -> None:
    assert check_export_dir(tree["stick"], tree["stick"]) == tree["stick"].resolve()


def test_a_link_into_the_export_location_gives_its_real_place(tree: dict[str, Path]) -> None:
    assert check_export_dir(tree["root"] / "way-in", tree["media"]) == tree["stick"].resolve()


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("outside", "outside"),
        ("escape", "outside"),  # a link on the stick pointing at the data partition
        ("dotdot", "outside"),
        ("prefix", "outside"),
        ("missing", "missing"),
        ("file", "not-a-directory"),
        ("loop", "unreadable"),
        ("relative", "relative"),
    ],
)
def test_everything_else_is_refused(tree: dict[str, Path], name: str, reason: str) -> None:
    requested = {
        "outside": tree["outside"],
        "escape": tree["stick"] / "escape",
        "dotdot": tree["stick"] / ".." / ".." / "var-lib-qingka",
        "prefix": tree["root"] / "media2",
        "missing": tree["stick"] / "not-plugged",
        "file": tree["stick"] / "file.txt",
        "loop": tree["stick"] / "loop",
        "relative": Path("usb"),
    }[name]
    _refused(requested, tree["media"], reason)


def test_no_export_location_refuses_everything(tree: dict[str, Path]) -> None:
    _refused(tree["stick"], tree["root"] / "no-media", "no-export-location")


# Paths built from the pieces an attacker would use: links, "..", ".", real and missing names.
PIECES = st.lists(
    st.sampled_from(["usb", "backups", "escape", "loop", "..", ".", "file.txt", "nope", "media"]),
    max_size=6,
)


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from(["root", "media", "stick", "outside"]), PIECES)
def test_whatever_the_path_the_answer_is_inside_or_refused(
    tree: dict[str, Path], start: str, pieces: list[str]
) -> None:
    requested = tree[start].joinpath(*pieces)
    media = tree["media"].resolve()
    try:
        real = check_export_dir(requested, tree["media"])
    except ApiError as error:
        assert error.code == "A-403"
        return
    assert real.is_dir()
    assert real == media or media in real.parents
    assert real == Path(os.path.realpath(requested))
