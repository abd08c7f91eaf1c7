"""Ticket tokens: sign, verify offline, refuse anything forged, tampered or unknown."""

from __future__ import annotations

import base64
import json
from typing import Any
from uuid import UUID, uuid4

import pytest
from joserfc import jws
from joserfc.errors import SecurityWarning
from joserfc.jwk import OKPKey

from eltiketi_adapters.tickets import JoseTicketSigner, TicketKeySet
from eltiketi_core.domain.order import TicketClaims
from eltiketi_core.errors import InvalidTicket
from eltiketi_core.ports.tickets import TicketSigner


def _claims(version: int = 1) -> TicketClaims:
    return TicketClaims(
        ticket_id=uuid4(), event_id=uuid4(), ticket_type_id=uuid4(), version=version
    )


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _refused(signer: JoseTicketSigner, token: str) -> InvalidTicket:
    with pytest.raises(InvalidTicket) as caught:
        signer.verify(token)
    assert caught.value.code == "invalid_ticket"
    return caught.value


@pytest.fixture
def signer() -> JoseTicketSigner:
    return JoseTicketSigner(TicketKeySet.generate())


def test_implements_the_port(signer: JoseTicketSigner) -> None:
    port: TicketSigner = signer

    assert port.verify(port.sign(_claims())).version == 1


def test_round_trip_returns_the_signed_claims(signer: JoseTicketSigner) -> None:
    claims = _claims(version=3)

    assert signer.verify(signer.sign(claims)) == claims


def test_token_is_a_small_compact_jws_with_kid_and_short_claims(
    signer: JoseTicketSigner,
) -> None:
    claims = _claims()

    token = signer.sign(claims)

    header, payload, signature = token.split(".")
    assert json.loads(_unb64(header)) == {"alg": "EdDSA", "kid": signer.key_set.current_kid}
    body = json.loads(_unb64(payload))
    assert set(body) == {"t", "e", "y", "v"}
    assert UUID(bytes=_unb64(body["t"])) == claims.ticket_id
    assert UUID(bytes=_unb64(body["e"])) == claims.event_id
    assert UUID(bytes=_unb64(body["y"])) == claims.ticket_type_id
    assert len(_unb64(signature)) == 64
    assert len(token) < 280


def test_token_verifies_with_plain_joserfc_and_the_public_jwks(signer: JoseTicketSigner) -> None:
    """What a scanner app does offline: only the published JWKS, any JOSE library."""
    from joserfc.jwk import KeySet

    token = signer.sign(_claims())
    public = KeySet.import_key_set(signer.public_jwks())  # type: ignore[arg-type]

    with pytest.warns(
        SecurityWarning, match="RFC 9864"
    ):  # joserfc flags "EdDSA" as deprecated by RFC 9864
        verified = jws.deserialize_compact(token, public, algorithms=["EdDSA"])

    assert json.loads(verified.payload)["v"] == 1


def test_tampered_payload_is_refused(signer: JoseTicketSigner) -> None:
    header, payload, signature = signer.sign(_claims()).split(".")
    body = json.loads(_unb64(payload))
    body["t"] = _b64(uuid4().bytes)

    error = _refused(signer, f"{header}.{_b64(json.dumps(body).encode())}.{signature}")

    assert error.extra["reason"] == "bad_signature"


def test_tampered_signature_is_refused(signer: JoseTicketSigner) -> None:
    header, payload, signature = signer.sign(_claims()).split(".")
    raw = bytearray(_unb64(signature))
    raw[0] ^= 0x01

    error = _refused(signer, f"{header}.{payload}.{_b64(bytes(raw))}")

    assert error.extra["reason"] == "bad_signature"


def test_forged_token_with_our_kid_but_another_key_is_refused(signer: JoseTicketSigner) -> None:
    attacker = OKPKey.generate_key("Ed25519")
    header = {"alg": "EdDSA", "kid": signer.key_set.current_kid}
    payload = json.dumps(
        {"t": _b64(uuid4().bytes), "e": _b64(uuid4().bytes), "y": _b64(uuid4().bytes), "v": 1}
    )

    with pytest.warns(SecurityWarning, match="RFC 9864"):
        forged = jws.serialize_compact(header, payload, attacker, algorithms=["EdDSA"])

    assert _refused(signer, forged).extra["reason"] == "bad_signature"


def test_token_from_an_unknown_key_is_refused(signer: JoseTicketSigner) -> None:
    stranger = JoseTicketSigner(TicketKeySet.generate())

    error = _refused(signer, stranger.sign(_claims()))

    assert error.extra["reason"] == "unknown_kid"


@pytest.mark.parametrize("alg", ["none", "HS256", "RS256", "ES256"])
def test_other_algorithms_are_refused_before_any_key_is_used(
    signer: JoseTicketSigner, alg: str
) -> None:
    _, payload, signature = signer.sign(_claims()).split(".")
    header = _b64(json.dumps({"alg": alg, "kid": signer.key_set.current_kid}).encode())

    error = _refused(signer, f"{header}.{payload}.{signature}")

    assert error.extra["reason"] in {"bad_alg", "malformed"}


def test_hs256_signed_with_the_public_key_bytes_is_refused(signer: JoseTicketSigner) -> None:
    """Classic algorithm confusion: HMAC keyed with the published public key."""
    from joserfc.jwk import OctKey

    x = signer.public_jwks()["keys"][0]["x"]
    header = {"alg": "HS256", "kid": signer.key_set.current_kid}
    body = {"t": _b64(uuid4().bytes), "e": _b64(uuid4().bytes), "y": _b64(uuid4().bytes), "v": 1}
    token = jws.serialize_compact(header, json.dumps(body), OctKey.import_key(x))

    _refused(signer, token)


@pytest.mark.parametrize(
    "token",
    ["", "abc", "a.b.c", "a.b", "....", "x" * 5000, "é.é.é", "eyJ9.eyJ9.AA"],
)
def test_malformed_tokens_are_refused(signer: JoseTicketSigner, token: str) -> None:
    _refused(signer, token)


def test_non_string_token_is_refused(signer: JoseTicketSigner) -> None:
    bad: Any = None

    _refused(signer, bad)


@pytest.mark.parametrize(
    "body",
    [
        {"t": "short", "e": "short", "y": "short", "v": 1},
        {"e": "AAAAAAAAAAAAAAAAAAAAAA", "y": "AAAAAAAAAAAAAAAAAAAAAA", "v": 1},
        {"t": 1, "e": 2, "y": 3, "v": "one"},
        {"t": "A" * 22, "e": "A" * 22, "y": "A" * 22, "v": 0},
        ["not", "an", "object"],
    ],
)
def test_well_signed_but_malformed_claims_are_refused(
    signer: JoseTicketSigner, body: object
) -> None:
    """Signed with our own key (e.g. a bug elsewhere): still never a crash, always 400."""
    header = {"alg": "EdDSA", "kid": signer.key_set.current_kid}

    with pytest.warns(SecurityWarning, match="RFC 9864"):
        token = jws.serialize_compact(
            header, json.dumps(body), signer.key_set.current, algorithms=["EdDSA"]
        )

    assert _refused(signer, token).extra["reason"] == "bad_claims"


def test_token_signed_with_a_retired_key_still_verifies() -> None:
    keys = TicketKeySet.generate()
    old_signer = JoseTicketSigner(keys)
    claims = _claims()
    issued_before_rotation = old_signer.sign(claims)

    new_signer = JoseTicketSigner(TicketKeySet.from_json(keys.rotate().to_json()))

    assert new_signer.verify(issued_before_rotation) == claims
    assert new_signer.verify(new_signer.sign(claims)) == claims
    new_header = json.loads(_unb64(new_signer.sign(claims).split(".")[0]))
    assert new_header["kid"] != keys.current_kid


def test_two_signers_from_the_same_json_verify_each_others_tokens() -> None:
    shared = TicketKeySet.generate().rotate().to_json()
    api = JoseTicketSigner(TicketKeySet.from_json(shared))
    worker = JoseTicketSigner(TicketKeySet.from_json(shared))
    a, b = _claims(), _claims()

    assert worker.verify(api.sign(a)) == a
    assert api.verify(worker.sign(b)) == b


def test_public_jwks_has_every_key_and_no_private_material() -> None:
    keys = TicketKeySet.generate().rotate().rotate()
    private = [k["d"] for k in json.loads(keys.to_json())["keys"] if "d" in k]
    signer = JoseTicketSigner(keys)

    jwks = signer.public_jwks()

    assert [k["kid"] for k in jwks["keys"]] == list(keys.kids)
    assert all("d" not in k for k in jwks["keys"])
    dumped = json.dumps(jwks)
    assert private
    assert not any(secret in dumped for secret in private)


def test_public_jwks_cannot_be_mutated_by_a_caller(signer: JoseTicketSigner) -> None:
    signer.public_jwks()["keys"][0]["d"] = "oops"

    assert "d" not in signer.public_jwks()["keys"][0]


def test_signing_and_verifying_emit_no_warnings(
    signer: JoseTicketSigner, recwarn: pytest.WarningsRecorder
) -> None:
    signer.verify(signer.sign(_claims()))

    assert not recwarn.list
