"""Which client address a request is counted under (per-address rate limits)."""

from __future__ import annotations

import pytest

from eltiketi_app.http.client_address import MAX_FORWARDED_HOPS, TrustedProxies

PROXIES = TrustedProxies(["10.0.0.0/8", "2001:db8:ffff::/48"])


@pytest.mark.parametrize(
    ("peer", "forwarded", "client"),
    [
        # No trusted proxies configured: the peer, whatever the header says.
        ("203.0.113.7", None, "203.0.113.7"),
        ("203.0.113.7", "198.51.100.1", "203.0.113.7"),
        # Behind our proxy: the address it saw (the right-most untrusted entry).
        ("10.0.0.5", "198.51.100.1", "198.51.100.1"),
        ("10.0.0.5", "192.0.2.66, 198.51.100.1", "198.51.100.1"),
        ("10.0.0.5", "192.0.2.66, 198.51.100.1, 10.1.2.3", "198.51.100.1"),
        ("10.0.0.5", "192.0.2.66,198.51.100.1 ,10.1.2.3", "198.51.100.1"),
        # Every hop ours: the left-most one.
        ("10.0.0.5", "10.9.9.9, 10.1.2.3", "10.9.9.9"),
        # Garbage written by our proxy: the last address we trust.
        ("10.0.0.5", "198.51.100.1, unknown", "10.0.0.5"),
        ("10.0.0.5", "198.51.100.1, garbage, 10.1.2.3", "10.1.2.3"),
        # Ports and brackets.
        ("10.0.0.5", "198.51.100.1:51234", "198.51.100.1"),
        ("10.0.0.5", "[2001:db8:1:2:3:4:5:6]:443", "2001:db8:1:2::/64"),
        # IPv6 is counted per /64; an IPv4-mapped address as IPv4.
        ("2001:db8:1:2:aaaa::1", None, "2001:db8:1:2::/64"),
        ("::ffff:203.0.113.7", None, "203.0.113.7"),
        ("2001:db8:ffff:1::1", "2001:db8:5:6::9", "2001:db8:5:6::/64"),
        # Not an address at all (the ASGI test client): the peer as given.
        ("testclient", "198.51.100.1", "testclient"),
        (None, None, "unknown"),
    ],
)
def test_the_client_address(peer: str | None, forwarded: str | None, client: str) -> None:
    assert PROXIES.client_address(peer, forwarded) == client


def test_without_proxies_the_header_is_never_read() -> None:
    nobody = TrustedProxies()
    assert not nobody
    assert nobody.client_address("10.0.0.5", "198.51.100.1") == "10.0.0.5"


def test_a_huge_header_is_read_only_at_its_right_end() -> None:
    forged = ", ".join(f"10.0.{n // 256}.{n % 256}" for n in range(5000))
    # All hops look like ours, but only the last MAX_FORWARDED_HOPS are believed.
    expected = f"10.0.{(5000 - MAX_FORWARDED_HOPS) // 256}.{(5000 - MAX_FORWARDED_HOPS) % 256}"
    assert PROXIES.client_address("10.0.0.5", forged) == expected
