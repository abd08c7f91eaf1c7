"""Who is on the other end: the client address the per-address rate limits count.

Behind a load balancer every request arrives from the balancer's address, and
the buyer's address is in ``X-Forwarded-For``. That header is whatever the
sender wrote, so it is believed only when the peer is one of our proxies
(``ELTIKETI_TRUSTED_PROXIES``), and then read from the right: each trusted
proxy appends the address it saw, so the first address from the right that is
not one of ours is the client. Anything left of it was written by the client
and is ignored. Without trusted proxies the peer is the client, so nobody can
pick their own bucket by sending the header.

IPv6 clients are counted per ``/64``: one subscriber usually has a whole
``/64`` and could otherwise take a fresh bucket per request.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

#: How many ``X-Forwarded-For`` entries are looked at, at most (a header of
#: thousands of addresses costs nothing more than this).
MAX_FORWARDED_HOPS = 16


class TrustedProxies:
    """The networks whose ``X-Forwarded-For`` is believed."""

    def __init__(self, networks: Iterable[str] = ()) -> None:
        self._networks: tuple[IPNetwork, ...] = tuple(
            ipaddress.ip_network(n, strict=False) for n in networks
        )

    def __bool__(self) -> bool:
        return bool(self._networks)

    def trusts(self, address: IPAddress | None) -> bool:
        return address is not None and any(address in network for network in self._networks)

    def client_address(self, peer: str | None, forwarded_for: str | None) -> str:
        """The bucket key of the client: an address, an IPv6 ``/64``, or the peer as given.

        Args:
            peer: the TCP peer (ASGI ``scope["client"][0]``); None if unknown.
            forwarded_for: every ``X-Forwarded-For`` header of the request, joined
                with commas; None without one.
        """
        peer_ip = _parse(peer)
        client = peer_ip
        if forwarded_for and self.trusts(peer_ip):
            hops = [hop.strip() for hop in forwarded_for.split(",")][-MAX_FORWARDED_HOPS:]
            for hop in reversed(hops):
                hop_ip = _parse(hop)
                if hop_ip is None:
                    break  # garbage from our own proxy: keep the last address we trust
                client = hop_ip
                if not self.trusts(hop_ip):
                    break
        if client is None:
            return peer or "unknown"
        return bucket_of(client)


def bucket_of(address: IPAddress) -> str:
    """IPv4 as is; IPv6 by its ``/64`` (IPv4-mapped IPv6 as the IPv4 address)."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


def _parse(text: str | None) -> IPAddress | None:
    if not text:
        return None
    text = text.strip()
    if text.startswith("[") and "]" in text:  # "[2001:db8::1]:443"
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # "203.0.113.7:51234"
        text = text.split(":", 1)[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None
