"""The pure rules: verdicts, back-off, Retry-After, public addresses, signatures."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from standardwebhooks import Webhook

from wamesh.webhooks import signing
from wamesh.webhooks.policy import Backoff, Verdict, parse_retry_after, verdict
from wamesh.webhooks.safety import is_public


class TestVerdicts:
    """Which responses deliver, retry, give up or disable."""

    @pytest.mark.parametrize(
        ("status", "expected"),
        [
            (200, Verdict.DELIVERED),
            (204, Verdict.DELIVERED),
            (400, Verdict.GIVE_UP),
            (404, Verdict.GIVE_UP),
            (408, Verdict.RETRY),
            (425, Verdict.RETRY),
            (429, Verdict.RETRY),
            (410, Verdict.DISABLE),
            (500, Verdict.RETRY),
            (302, Verdict.RETRY),
            (None, Verdict.RETRY),
        ],
    )
    def test_verdict(self, status: int | None, expected: Verdict) -> None:
        assert verdict(status) is expected


class TestBackoff:
    """Exponential from the base, jittered up to 25 %, capped; Retry-After replaces it."""

    def test_exponential_with_jitter_and_cap(self) -> None:
        backoff = Backoff(base_s=2.0, cap_s=10.0)
        for attempt, low in ((1, 2.0), (2, 4.0), (3, 8.0)):
            delay = backoff.delay(attempt)
            assert low <= delay <= min(10.0, low * 1.25)
        assert backoff.delay(6) == 10.0

    def test_retry_after_seconds_and_dates_capped(self) -> None:
        backoff = Backoff(base_s=2.0, cap_s=30.0)
        assert backoff.delay(1, "7") == 7.0
        assert backoff.delay(1, "3600") == 30.0
        later = format_datetime(datetime.now(UTC) + timedelta(seconds=20), usegmt=True)
        assert 18 <= backoff.delay(1, later) <= 20.5
        assert parse_retry_after("soon") is None


class TestAddresses:
    """Only globally routable addresses are public."""

    @pytest.mark.parametrize(
        "host",
        [
            "127.0.0.1",
            "10.1.2.3",
            "192.168.0.1",
            "172.16.0.1",
            "169.254.169.254",
            "::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "0.0.0.0",
            "100.64.0.1",
            "fc00::1",
        ],
    )
    def test_non_public(self, host: str) -> None:
        assert not is_public(host)

    @pytest.mark.parametrize("host", ["8.8.8.8", "2001:4860:4860::8888", "::ffff:1.1.1.1"])
    def test_public(self, host: str) -> None:
        assert is_public(host)


class TestSigning:
    """Our signatures and the reference library agree; secrets have the right shape."""

    def test_reference_library_verifies_ours(self) -> None:
        secret = signing.generate_secret()
        body = b'{"type":"message.received"}'
        headers = signing.headers(secret, "msg_1", body)
        assert Webhook(secret).verify(body, headers) == {"type": "message.received"}
        assert signing.verify(secret, headers, body)
        assert not signing.verify(secret, headers, body + b" ")
        assert not signing.verify(signing.generate_secret(), headers, body)

    def test_old_timestamps_are_refused(self) -> None:
        secret = signing.generate_secret()
        headers = signing.headers(secret, "msg_1", b"{}", timestamp=1_000_000)
        assert not signing.verify(secret, headers, b"{}")

    def test_secret_is_whsec_plus_32_random_bytes(self) -> None:
        import base64

        secret = signing.generate_secret()
        assert secret.startswith("whsec_")
        assert len(base64.b64decode(secret[6:])) == 32
        assert secret != signing.generate_secret()
