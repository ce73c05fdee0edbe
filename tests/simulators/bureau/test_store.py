"""The bureau's SQLite memory."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from simulators.bureau.store import SessionRow, Store

NOW = datetime(2026, 11, 5, 10, 0, 0)
TAXPAYER, DEVICE = "91420103MA0000000A", "661900000000"


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "bureau.sqlite3")


def test_defaults_and_settings(store: Store) -> None:
    assert store.cert_status(TAXPAYER) == "valid"
    assert store.declaration(TAXPAYER, 202610) is None
    store.set_cert_status(TAXPAYER, "lost")
    store.set_declaration(TAXPAYER, 202610, "missing")
    assert store.cert_status(TAXPAYER) == "lost"
    assert store.declaration(TAXPAYER, 202610) == "missing"
    with pytest.raises(ValueError):
        store.set_cert_status(TAXPAYER, "stolen")
    with pytest.raises(ValueError):
        store.set_declaration(TAXPAYER, 202610, "late")


def test_uploads_are_accepted_once(store: Store) -> None:
    first, new = store.accept_upload(TAXPAYER, DEVICE, 202610, "007", "d1", b"raw", NOW)
    again, new_again = store.accept_upload(TAXPAYER, DEVICE, 202610, "007", "d2", b"x", NOW)
    assert new and not new_again and again == first and again.digest == "d1"
    assert first.receipt_no.startswith("SB20261105") and len(first.receipt_no) == 20
    assert store.uploaded_types(TAXPAYER, DEVICE, 202610) == ["007"]


def test_clearings_and_answers(store: Store) -> None:
    assert store.clearing(TAXPAYER, DEVICE, 202610, ["007"]) is None
    store.add_clearing(TAXPAYER, DEVICE, 202610, ["026", "007"], b"first", NOW)
    store.add_clearing(TAXPAYER, DEVICE, 202610, ["007", "026"], b"second", NOW)
    assert store.clearing(TAXPAYER, DEVICE, 202610, ["007", "026"]) == b"first"
    assert store.cleared_types(TAXPAYER, DEVICE, 202610) == ["007", "026"]
    store.add_answer("a" * 32, "content", b"body")
    store.add_answer("a" * 32, "other", b"other")
    assert store.answer("a" * 32) == ("content", b"body")


def test_sessions_reset_and_persistence(tmp_path: Path) -> None:
    path = tmp_path / "bureau.sqlite3"
    store = Store(path)
    store.add_session(SessionRow("s" * 32, TAXPAYER, DEVICE, "42", 2e9))
    store.accept_upload(TAXPAYER, DEVICE, 202610, "007", "d1", b"raw", NOW)
    store.close()
    reopened = Store(path)
    session = reopened.session("s" * 32)
    assert session is not None and session.authority == "42"
    assert reopened.expire_sessions(TAXPAYER) == 1
    expired = reopened.session("s" * 32)
    assert expired is not None and expired.expires == 0
    assert reopened.state(TAXPAYER)["uploads"][0]["type"] == "007"
    reopened.reset_taxpayer(TAXPAYER)
    assert reopened.state(TAXPAYER) == {
        "taxpayer_id": TAXPAYER,
        "certificate": "valid",
        "declarations": {},
        "uploads": [],
        "clearings": 0,
    }
