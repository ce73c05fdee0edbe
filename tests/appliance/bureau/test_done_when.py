"""The whole clearing against both simulators: the real driver on a simulated ``needs-clearing``
device, the real client on the simulated bureau over HTTPS.

handshake -> upload -> clear yields clearing data the device accepts; the same upload again
yields the same receipt; a withdrawn declaration fails the clear request with the 一窗式比对
message; a revoked certificate fails the handshake with the revoked message; none of these
permanent failures is retried.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from appliance.bureau import BureauClient
from appliance.bureau.errors import CertificateRevoked, DeclarationMissing
from appliance.devices.errors import AlreadyCleared
from appliance.devices.nisec import NisecDevice
from appliance.devices.urls import open_device
from appliance.protocol.commands import DEFAULT_PIN
from simulators.bureau import BureauProcess
from tests.simulators.bureau.fixtures import ANCHOR, PERIOD

DEMO = "0"  # catalog index of the demo taxpayer, a general taxpayer in Wuhan


@pytest.fixture
def device(bureau: BureauProcess) -> Iterator[NisecDevice]:
    bureau.admin.reset(DEMO)
    url = f"sim://needs-clearing?now={ANCHOR.isoformat()}&index={DEMO}&latency=0"
    with open_device(url) as opened:
        opened.verify_pin(DEFAULT_PIN)
        yield opened


def _handshake(client: BureauClient, device: NisecDevice) -> None:
    client.handshake(device.identify(), device.certificate(), device.sign)


def _one_request(bureau: BureauProcess, client: BureauClient, service: str) -> tuple[int, int]:
    return client.attempts, bureau.admin.stats().get(service, 0)


def test_clearing_end_to_end(
    bureau: BureauProcess, client: BureauClient, device: NisecDevice
) -> None:
    types = device.invoice_types()
    _handshake(client, device)
    receipts = {}
    for code in types:
        device.copy_tax(code)
        summary = device.read_summary(code)
        assert summary.period == PERIOD
        receipts[code] = client.upload_summary(summary)
    # The same upload again (after a crash, say): recognised, same receipt.
    for code in types:
        again = client.upload_summary(device.read_summary(code))
        assert again == receipts[code] and again.repeated
    data = client.request_clearing(PERIOD, types)
    result = device.write_clearing(data.raw)
    assert sorted(result.types) == sorted(types) and result.kpjzsj == data.kpjzsj
    for code in types:
        assert device.monitor(code).kpjzsj.month == 12  # locks at December's deadline now
    with pytest.raises(AlreadyCleared):
        device.write_clearing(data.raw)


def test_withdrawn_declaration_fails_without_retry(
    bureau: BureauProcess, client: BureauClient, device: NisecDevice
) -> None:
    types = device.invoice_types()
    _handshake(client, device)
    for code in types:
        device.copy_tax(code)
        client.upload_summary(device.read_summary(code))
    bureau.admin.set_declaration(DEMO, "missing", PERIOD)
    attempts, requests = _one_request(bureau, client, "REQUEST_CLEARING")
    with pytest.raises(DeclarationMissing) as caught:
        client.request_clearing(PERIOD, types)
    assert caught.value.text("zh")[0].startswith("一窗式比对失败")
    assert "一窗式比对失败" in str(caught.value)  # the bureau's own words
    assert _one_request(bureau, client, "REQUEST_CLEARING") == (attempts + 1, requests + 1)


def test_revoked_certificate_fails_the_handshake_without_retry(
    bureau: BureauProcess, client: BureauClient, device: NisecDevice
) -> None:
    bureau.admin.set_certificate(DEMO, "revoked")
    attempts, requests = _one_request(bureau, client, "HANDSHAKE_HELLO")
    with pytest.raises(CertificateRevoked) as caught:
        _handshake(client, device)
    assert caught.value.text("zh")[0] == "税控设备证书已作废，无法清卡"
    assert "证书已作废" in str(caught.value)
    assert _one_request(bureau, client, "HANDSHAKE_HELLO") == (attempts + 1, requests + 1)
