"""Errors become outcomes by their type: the kind, the code and the words people read."""

from __future__ import annotations

from datetime import date

import pytest

from appliance.bureau import errors as bureau
from appliance.clearing import classify
from appliance.clearing.backoff import retry_delay
from appliance.clearing.outcomes import Outcome, OutcomeKind
from appliance.clearing.steps import JobStep
from appliance.devices import errors as dev
from appliance.storage.errors import StorageFull


@pytest.mark.parametrize(
    ("exc", "kind", "code"),
    [
        (dev.DeviceGone("unplugged"), OutcomeKind.RETRY_LATER, "D-002"),
        (dev.DeviceBusy(), OutcomeKind.RETRY_LATER, "D-003"),
        (dev.PinRejected(1), OutcomeKind.NEEDS_HUMAN, "D-101"),
        (dev.ZombieDevice(), OutcomeKind.NEEDS_HUMAN, "D-206"),
        (dev.NotReportTime(), OutcomeKind.NOT_DUE, "D-202"),
        (bureau.NetworkError("reset"), OutcomeKind.RETRY_LATER, "B-002"),
        (bureau.DeclarationMissing(), OutcomeKind.NEEDS_HUMAN, "B-402"),
        (bureau.CertificateRevoked(), OutcomeKind.NEEDS_HUMAN, "B-102"),
        (StorageFull("full"), OutcomeKind.NEEDS_HUMAN, "S-001"),
        (KeyError("bug"), OutcomeKind.NEEDS_HUMAN, "J-500"),
    ],
)
def test_kind_and_code_by_type(exc: Exception, kind: OutcomeKind, code: str) -> None:
    outcome = classify.outcome_for(exc, "661900000000", 202610, JobStep.UPLOAD)
    assert (outcome.kind, outcome.code) == (kind, code)
    assert outcome.message_zh and outcome.message_en and outcome.action_zh and outcome.action_en
    assert outcome.message_zh != outcome.message_en


def test_wrong_pin_says_the_tries_left_in_both_languages() -> None:
    outcome = classify.outcome_for(dev.PinRejected(2), "x", None, JobStep.PRECHECK)
    assert "还剩 2 次机会" in outcome.message_zh
    assert "2 tries left" in outcome.message_en


def test_only_filing_refusals_are_checked_again_hourly() -> None:
    declaration = classify.outcome_for(
        bureau.DeclarationMismatched(), "x", 1, JobStep.CLEAR_REQUEST
    )
    revoked = classify.outcome_for(bureau.CertificateRevoked(), "x", 1, JobStep.UPLOAD)
    assert retry_delay(declaration, 1) == 3600
    assert retry_delay(revoked, 1) is None


def test_retry_later_backs_off_from_under_a_minute() -> None:
    outcome = classify.outcome_for(dev.DeviceBusy(), "x", 1, JobStep.COPY_TAX)
    delays = [retry_delay(outcome, n) for n in range(1, 9)]
    assert delays[0] is not None and delays[0] < 60
    assert delays == sorted(delays)  # type: ignore[type-var]
    assert delays[-1] == 900


def test_outcomes_survive_their_json() -> None:
    outcome = classify.already_cleared("x", date(2026, 12, 15), None)
    assert Outcome.from_json(outcome.to_json()) == outcome
