"""ELTIKETI_SMTP_URL in all its forms."""

from __future__ import annotations

import pytest

from eltiketi_adapters.notify import SmtpConfig


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("smtp://127.0.0.1:2525", SmtpConfig(host="127.0.0.1", port=2525)),
        ("smtp://mail.example.com", SmtpConfig(host="mail.example.com", port=25)),
        (
            "smtp://user:secret@mail.example.com?starttls=true",
            SmtpConfig(
                host="mail.example.com", port=587, username="user", password="secret", starttls=True
            ),
        ),
        (
            "smtps://apikey:p%40ss%3Aw0rd@smtp.example.com",
            SmtpConfig(
                host="smtp.example.com",
                port=465,
                username="apikey",
                password="p@ss:w0rd",
                implicit_tls=True,
            ),
        ),
        (
            "smtp://me%40example.com@relay:2587?starttls=TRUE&timeout=2.5",
            SmtpConfig(
                host="relay", port=2587, username="me@example.com", starttls=True, timeout=2.5
            ),
        ),
        ("smtp://[::1]:25?starttls=false", SmtpConfig(host="::1", port=25)),
    ],
)
def test_url_forms(url: str, expected: SmtpConfig) -> None:
    assert SmtpConfig.from_url(url) == expected


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://mail.example.com", "smtp:// or smtps://"),
        ("smtp://", "needs a host"),
        ("smtp://host?tls=yes", "unknown SMTP URL parameter"),
        ("smtp://host?starttls=maybe", "true or false"),
        ("smtps://host?starttls=true", "already uses TLS"),
        ("smtp://host?timeout=soon", "number of seconds"),
        ("smtp://host?timeout=0", "positive"),
        ("smtp://host:99999", "invalid port"),
    ],
)
def test_bad_urls_are_refused_clearly(url: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SmtpConfig.from_url(url)


def test_password_never_shows() -> None:
    config = SmtpConfig.from_url("smtps://user:hunter2@smtp.example.com")

    assert "hunter2" not in repr(config)
    assert "hunter2" not in config.redacted_url
    assert config.redacted_url == "smtps://user:***@smtp.example.com:465"


def test_a_bad_url_error_does_not_echo_the_password() -> None:
    with pytest.raises(ValueError) as caught:
        SmtpConfig.from_url("smtp://user:hunter2@host?starttls=perhaps")

    assert "hunter2" not in str(caught.value)
