"""StripeConfig refuses settings that could only fail later, and never prints secrets."""

from __future__ import annotations

from typing import Any

import pytest

from eltiketi_adapters.stripe.config import StripeConfig

VALID: dict[str, Any] = {"api_key": "sk_test_abc", "webhook_secret": "whsec_abc"}


@pytest.mark.parametrize(
    "override",
    [
        {"api_key": " "},
        {"webhook_secret": ""},
        {"mode": "subscription"},
        {"public_url": "tickets.example.org"},
        {"webhook_tolerance_seconds": 0},
        {"timeout": 0},
    ],
)
def test_invalid_settings_are_refused(override: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="StripeConfig"):
        StripeConfig(**{**VALID, **override})


def test_repr_hides_the_secrets() -> None:
    text = repr(StripeConfig(**VALID))

    assert "sk_test_abc" not in text
    assert "whsec_abc" not in text


def test_return_urls_fill_the_booking_id_only() -> None:
    config = StripeConfig(
        **VALID,
        public_url="https://t.example.org/",
        success_path="/b/{booking_id}/done?s={CHECKOUT_SESSION_ID}",
    )

    assert config.return_url(config.success_path, "b-1") == (
        "https://t.example.org/b/b-1/done?s={CHECKOUT_SESSION_ID}"
    )
