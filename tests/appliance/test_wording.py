"""The one catalogue of words: every code of every error tree has its words there, in both
languages, and no action promises a retry (whether the box tries again is the outcome's to say)."""

from __future__ import annotations

import inspect
import re
from datetime import date

import pytest

from appliance.bureau import errors as bureau
from appliance.clearing import classify
from appliance.devices import errors as device
from appliance.storage import errors as storage
from appliance.update import errors as update
from appliance.wording import catalog, message
from provisioning import errors as provisioning

TREES = [
    (bureau, bureau.BureauError),
    (device, device.DeviceError),
    (storage, storage.StorageError),
    (update, update.UpdateError),
    (provisioning, provisioning.ProvisionError),
]
CODE = re.compile(r"[A-Z]-\d{3}(-[a-z]+)?")
# "the box will retry by itself" (but not "the box never retries a PIN by itself").
PROMISE = re.compile(r"(?<!不)(?<!不会)自动(再试|重试)")


def _codes() -> list[str]:
    codes = []
    for module, root in TREES:
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, root):
                codes.append(cls.code)
    return sorted(set(codes)) + sorted(classify.FIXED)


@pytest.mark.parametrize("code", _codes())
def test_every_error_code_has_its_own_words(code: str) -> None:
    assert code in catalog(), code


def test_every_entry_speaks_both_languages() -> None:
    for code, words in catalog().items():
        assert CODE.fullmatch(code), code
        for text in (words.zh, words.en, words.action_zh, words.action_en):
            assert text.strip(), code
        assert any("\u4e00" <= c <= "\u9fff" for c in words.zh + words.action_zh), code


def test_no_action_promises_a_retry_the_outcome_may_not_make() -> None:
    # Under the button-only policy the box does not retry by itself: only the outcome's
    # retry_at may say it will.
    for code, words in catalog().items():
        assert not PROMISE.search(words.action_zh), code
        assert "retries by itself" not in words.action_en, code


def test_a_code_the_catalogue_lacks_falls_back_to_its_familys_words() -> None:
    assert message("D-777", "D-000") == catalog()["D-000"]
    assert device.DeviceError("x").text("zh") == catalog()["D-000"].text("zh")


def test_clock_chip_and_clock_factor_say_different_things() -> None:
    chip, factor = device.ClockError().text("zh"), device.ClockFactorInvalid().text("zh")
    assert chip != factor
    assert "重新抄税" in factor[1] and "维修" in chip[1]


def test_after_clearing_a_locked_device_it_says_it_can_invoice_again() -> None:
    outcome = classify.done("1", 202611, date(2026, 12, 15), already=False, locked=True)
    assert "已解锁" in outcome.message_zh and "开票" in outcome.message_zh
    assert "unlocked" in outcome.message_en
    plain = classify.done("1", 202611, date(2026, 12, 15), already=False, locked=False)
    # It names the month to declare and the day, not "next month".
    assert "11月" in plain.action_zh and "12月15日" in plain.action_zh
    assert "下月" not in plain.action_zh and "无需操作" not in plain.action_zh
    assert "November 2026" in plain.action_en


def test_a_zombie_device_is_not_said_to_have_failed_copy_tax() -> None:
    assert "抄税失败" not in device.ZombieDevice().text("zh")[0]


def test_a_garbled_reply_does_not_send_the_owner_to_the_network() -> None:
    _, action = bureau.GarbledResponse().text("zh")
    assert "网络" not in action
