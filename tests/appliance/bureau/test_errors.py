"""The error catalogue: stable, unique codes, and words for every error in both languages."""

from __future__ import annotations

import inspect

from appliance.bureau import codes, errors
from appliance.wording import message

CLASSES = [
    cls
    for _, cls in inspect.getmembers(errors, inspect.isclass)
    if issubclass(cls, errors.BureauError)
]


def test_codes_are_unique_and_well_formed() -> None:
    found = [cls.code for cls in CLASSES]
    assert len(found) == len(set(found))
    assert all(code.startswith("B-") and code[2:].isdigit() for code in found)


def test_every_error_speaks_both_languages() -> None:
    for cls in CLASSES:
        words = message(cls.code, "none")  # no fallback: each code has its own words
        for text in (words.zh, words.en, words.action_zh, words.action_en):
            assert text.strip(), cls
        assert any("\u4e00" <= char <= "\u9fff" for char in words.zh + words.action_zh), cls


def test_every_result_code_maps_to_an_error() -> None:
    for code in codes.TEXTS:
        if code == codes.OK:
            continue
        error = errors.from_result(code, codes.text(code))
        assert type(error) is errors.BY_RESULT_CODE[code]
        assert error.result_code == code and str(error).endswith(f"[{error.code}]")


def test_unknown_codes_are_unexpected_answers() -> None:
    error = errors.from_result("7777", "")
    assert isinstance(error, errors.UnexpectedAnswer) and "7777" in str(error)


def test_transience_is_by_type() -> None:
    transient = {cls for cls in CLASSES if issubclass(cls, errors.TRANSIENT_ERRORS)}
    assert transient == {
        errors.TransientError,
        errors.NetworkError,
        errors.BureauTimeout,
        errors.ServerError,
        errors.CommunicationError,
        errors.GarbledResponse,
        errors.BureauUnavailable,
    }
    for permanent in (
        errors.CertificateLost,
        errors.CertificateRevoked,
        errors.DeclarationMissing,
        errors.DeclarationMismatched,
        errors.IllegalMessage,
        errors.NotFilingPeriod,
        errors.TlsError,
        errors.UntrustedResponse,
    ):
        assert not issubclass(permanent, errors.TRANSIENT_ERRORS)


def test_the_messages_a_shop_recognises() -> None:
    assert "无上报汇总信息或当前处于非征期" in errors.NotFilingPeriod().text("zh")[0]
    assert "一窗式比对" in errors.DeclarationMissing().text("zh")[0]
    assert "一窗式比对" in errors.DeclarationMismatched().text("zh")[0]
    assert "作废" in errors.CertificateRevoked().text("zh")[0]
    assert "挂失" in errors.CertificateLost().text("zh")[0]
    assert errors.CertificateRevoked().text("en")[1].startswith("Go to the tax service hall")
