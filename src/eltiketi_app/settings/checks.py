"""Checks of single values that need more than a type and bounds (``Var.parse``)."""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Callable
from urllib.parse import urlsplit

MEMORY_DATABASE_URL = "memory://"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


def mask_url_password(url: str) -> str:
    """``url`` with its password, if any, replaced by ``***``."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return parts._replace(netloc=netloc).geturl()


def url(*schemes: str) -> Callable[[str], str]:
    """A URL with one of ``schemes`` and a host."""

    def check(value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in schemes or not parts.netloc:
            wanted = " or ".join(f"{scheme}://" for scheme in schemes)
            raise ValueError(f"{mask_url_password(value)!r} is not a {wanted} URL")
        return value

    return check


def database_url(value: str) -> str:
    if value == MEMORY_DATABASE_URL or urlsplit(value).scheme.startswith(("postgresql", "sqlite")):
        return value
    raise ValueError(
        f"{mask_url_password(value)!r} is neither a postgresql+asyncpg://, "
        f"a sqlite+aiosqlite:// nor the {MEMORY_DATABASE_URL} URL"
    )


def jwk_set(value: str) -> str:
    try:
        parsed = json.loads(value)
    except ValueError:
        raise ValueError('is not valid JSON (expected a JWK set: {"keys": [...]})') from None
    if not isinstance(parsed, dict) or not isinstance(parsed.get("keys"), list):
        raise ValueError('must be a JWK set: {"keys": [...]}')
    return value


def log_level(value: str) -> str:
    level = value.upper()
    if level not in LOG_LEVELS:
        raise ValueError(f"{value!r} is not one of {', '.join(LOG_LEVELS)}")
    return level


def zero_means_none(value: int) -> int | None:
    return value or None


MIN_SECRET_LENGTH = 32
SESSION_STORES = ("memory", "file")


def long_secret(value: str) -> str:
    """A secret key long enough that it cannot be guessed or brute-forced."""
    if len(value) < MIN_SECRET_LENGTH:
        raise ValueError(f"must be at least {MIN_SECRET_LENGTH} characters (a random string)")
    return value


def session_store(value: str) -> str:
    """``memory``, ``file`` or a ``redis://`` / ``rediss://`` / ``unix://`` URL."""
    if value in SESSION_STORES or urlsplit(value).scheme in {"redis", "rediss", "unix"}:
        return value
    raise ValueError(f"{mask_url_password(value)!r} is not memory, file or a redis:// URL")


MIN_METRICS_TOKEN_LENGTH = 16


def metrics_token(value: str) -> str:
    """A bearer token for ``/metrics``: long enough not to be guessed."""
    if len(value) < MIN_METRICS_TOKEN_LENGTH:
        raise ValueError(
            f"is shorter than {MIN_METRICS_TOKEN_LENGTH} characters; use a random token"
        )
    return value


#: A rate-limit setting that turns that bucket off.
RATE_LIMIT_OFF = "off"


def rate(value: str) -> str:
    """Rates in the ``limits`` notation (``30/minute;300/hour``), or ``off``."""
    if value.lower() == RATE_LIMIT_OFF:
        return RATE_LIMIT_OFF
    from limits import parse_many

    try:
        parse_many(value)
    except ValueError:
        raise ValueError(f"{value!r} is not a rate like '30/minute;300/hour' (or 'off')") from None
    return value


def networks(value: str) -> tuple[str, ...]:
    """Comma-separated addresses or CIDR networks (``10.0.0.0/8, 2001:db8::/32``)."""
    found: list[str] = []
    for part in (p.strip() for p in value.split(",")):
        if not part:
            continue
        try:
            found.append(str(ipaddress.ip_network(part, strict=False)))
        except ValueError:
            raise ValueError(f"{part!r} is not an IP address or CIDR network") from None
    return tuple(found)


def country(value: str) -> str:
    """A two-letter country code (ISO 3166-1 alpha-2), upper-cased."""
    if len(value) != 2 or not value.isascii() or not value.isalpha():
        raise ValueError(f"{value!r} is not a two-letter country code such as DE")
    return value.upper()
