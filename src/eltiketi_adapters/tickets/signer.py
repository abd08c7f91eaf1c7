"""Ticket tokens: compact JWS (RFC 7515) signed with Ed25519, verifiable offline.

A token is ``base64url(header).base64url(payload).base64url(signature)``:

* header ``{"alg":"EdDSA","kid":"<8 chars>"}``;
* payload ``{"t":…,"e":…,"y":…,"v":1}`` — ticket id, event id, ticket type id, version;
  each UUID as the base64url of its 16 bytes (22 characters instead of 36);
* a 64-byte Ed25519 signature.

About 250 characters, which fits a version-12 QR code at error level M. See docs/tickets.md.
"""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Any, Final
from uuid import UUID

import msgspec
from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import GuestProtocol, OKPKey
from joserfc.jws import JWSRegistry

from eltiketi_adapters.tickets.keys import TicketKeySet
from eltiketi_core.domain.order import TicketClaims
from eltiketi_core.errors import InvalidTicket

#: ``alg`` written into new tokens. RFC 9864 deprecates the polymorphic "EdDSA" in favour of
#: "Ed25519", but scanner libraries have understood "EdDSA" since RFC 8037 (2017) and the
#: signature bytes are identical; verification accepts both, so switching later is painless.
SIGNING_ALG: Final = "EdDSA"
_ACCEPTED_ALGS: Final = ("EdDSA", "Ed25519")
#: Anything longer is not one of ours; refuse before parsing.
MAX_TOKEN_LENGTH: Final = 1024


class _TicketJWSRegistry(JWSRegistry):
    """Allows exactly the Ed25519 algorithms, without joserfc's per-call deprecation warning.

    The allow-list is what stops algorithm confusion (``none``, HS256 with a public key).
    """

    def get_alg(self, name: str) -> Any:
        if name not in _ACCEPTED_ALGS or name not in self.algorithms:
            raise _invalid("bad_alg", f"algorithm {name!r} is not accepted")
        return self.algorithms[name]


_REGISTRY: Final = _TicketJWSRegistry(algorithms=list(_ACCEPTED_ALGS))


class _Payload(msgspec.Struct, frozen=True):
    t: str
    e: str
    y: str
    v: Annotated[int, msgspec.Meta(ge=1)] = 1


_decode_payload: Final = msgspec.json.Decoder(_Payload).decode
_encode_payload: Final = msgspec.json.Encoder().encode


class JoseTicketSigner:
    """:class:`~eltiketi_core.ports.tickets.TicketSigner` with Ed25519 JWS (joserfc).

    Signs with the key set's current key and verifies with whichever key the token's
    ``kid`` names, current or retired. Stateless beyond the parsed keys: safe to share
    across tasks and threads, and two instances built from the same key-set JSON verify
    each other's tokens.
    """

    def __init__(self, keys: TicketKeySet) -> None:
        self._keys = keys
        self._header: Final = {"alg": SIGNING_ALG, "kid": keys.current_kid}
        self._public_jwks = keys.public_jwks()

    @property
    def key_set(self) -> TicketKeySet:
        return self._keys

    def sign(self, claims: TicketClaims) -> str:
        """A compact JWS over the claims, signed with the current key."""
        payload = _encode_payload(
            _Payload(
                t=_compact_uuid(claims.ticket_id),
                e=_compact_uuid(claims.event_id),
                y=_compact_uuid(claims.ticket_type_id),
                v=claims.version,
            )
        )
        return jws.serialize_compact(
            dict(self._header), payload, self._keys.current, registry=_REGISTRY
        )

    def verify(self, token: str) -> TicketClaims:
        """The claims of a token signed by a known key.

        Raises:
            InvalidTicket: malformed token, unknown ``kid``, unaccepted algorithm, bad
                signature or malformed claims. ``extra["reason"]`` says which, for logs;
                clients only ever see the code ``invalid_ticket``.
        """
        if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_LENGTH:
            raise _invalid("malformed", "not a ticket token")
        token = token.strip()
        if token.count(".") != 2 or not token.isascii():
            raise _invalid("malformed", "not a compact JWS")
        try:
            signed = jws.deserialize_compact(token, self._key_for, registry=_REGISTRY)
        except InvalidTicket:
            raise
        except JoseError as exc:
            reason = "bad_signature" if exc.error == "bad_signature" else "malformed"
            raise _invalid(reason, f"the token does not verify ({exc.error})") from None
        except (ValueError, TypeError, binascii.Error):
            raise _invalid("malformed", "the token cannot be decoded") from None
        try:
            payload = _decode_payload(signed.payload)
            return TicketClaims(
                ticket_id=_expand_uuid(payload.t),
                event_id=_expand_uuid(payload.e),
                ticket_type_id=_expand_uuid(payload.y),
                version=payload.v,
            )
        except (msgspec.DecodeError, msgspec.ValidationError, ValueError):
            raise _invalid("bad_claims", "the token's claims are malformed") from None

    def public_jwks(self) -> dict[str, Any]:
        """Every public key, retired ones included (no private members)."""
        return {"keys": [dict(key) for key in self._public_jwks["keys"]]}

    def _key_for(self, obj: GuestProtocol) -> OKPKey:
        kid = obj.headers().get("kid")
        if not isinstance(kid, str):
            raise _invalid("no_kid", "the token names no key")
        key = self._keys.verification_key(kid)
        if key is None:
            raise _invalid("unknown_kid", f"the token is signed by an unknown key {kid!r}")
        return key


def _invalid(reason: str, detail: str) -> InvalidTicket:
    return InvalidTicket("invalid_ticket", detail, reason=reason)


def _compact_uuid(value: UUID) -> str:
    return base64.urlsafe_b64encode(value.bytes).rstrip(b"=").decode("ascii")


def _expand_uuid(text: str) -> UUID:
    if len(text) != 22:
        raise ValueError("a compact UUID has 22 characters")
    raw = base64.urlsafe_b64decode(text + "==")
    if _compact_uuid(UUID(bytes=raw)) != text:  # reject non-canonical encodings
        raise ValueError("non-canonical compact UUID")
    return UUID(bytes=raw)
