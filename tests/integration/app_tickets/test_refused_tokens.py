"""Tokens the door must refuse, each with its contract code, through ``POST /v1/check-ins``.

Every bad token below names a real, valid ticket, so only the check under test can refuse
it: a forged signature (attacker's key under the app's key id), a tampered payload, an
unknown key id, ``alg: none``, a refunded order's ticket (good signature, void ticket) and
a ticket scanned at another event. After all of that, the real token still gets in once.
"""

from __future__ import annotations

import base64
import json
import warnings
from pathlib import Path
from typing import Any
from uuid import UUID

from joserfc import jws
from joserfc.errors import SecurityWarning
from joserfc.jwk import OKPKey

from eltiketi_adapters.tickets import JoseTicketSigner, TicketKeySet, generate_key_set
from eltiketi_core.domain.order import TicketClaims
from tests.integration.app_tickets.support import (
    App,
    expect,
    problem,
    running_app,
    settings_from,
)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _claims(ticket: dict[str, Any], event_id: str) -> TicketClaims:
    return TicketClaims(
        ticket_id=UUID(ticket["id"]),
        event_id=UUID(event_id),
        ticket_type_id=UUID(ticket["ticket_type_id"]),
    )


def _attacker_signer(kid: str | None) -> JoseTicketSigner:
    """A signer with a brand-new private key; with ``kid``, it pretends to be that key."""
    keys = json.loads(generate_key_set())
    if kid is not None:
        keys["keys"][0]["kid"] = kid
    return JoseTicketSigner(TicketKeySet.from_json(json.dumps(keys)))


async def _sold_ticket(app: App, event_id: str, ticket_type_id: str) -> dict[str, Any]:
    buyer = await app.auth("alice", email="alice@example.test")
    return await app.buy(buyer, event_id, ticket_type_id, 2)


async def test_forged_tampered_unknown_key_void_and_wrong_event_tokens_are_refused(
    tmp_path: Path, ticket_keys: str
) -> None:
    current_kid = json.loads(ticket_keys)["keys"][0]["kid"]
    async with running_app(settings_from(tmp_path, ticket_keys=ticket_keys)) as app:
        organizer = await app.auth("olga", "organizer")
        event_id, standing = await app.sale(organizer)
        other_event, other_standing = await app.sale(organizer, name="Another Night")
        staff = await app.door(event_id)
        order = await _sold_ticket(app, event_id, standing)
        ticket, sibling = order["tickets"]
        real = ticket["token"]
        header, payload, signature = real.split(".")
        assert json.loads(_unb64(header))["kid"] == current_kid

        forged = _attacker_signer(current_kid).sign(_claims(ticket, event_id))
        unknown_key = _attacker_signer(None).sign(_claims(ticket, event_id))
        sibling_payload = sibling["token"].split(".")[1]
        swapped_payload = f"{header}.{sibling_payload}.{signature}"
        flipped = "A" if signature[10] != "A" else "B"
        bad_signature = f"{header}.{payload}.{signature[:10]}{flipped}{signature[11:]}"
        more_version = json.loads(_unb64(payload)) | {"v": 2}
        bumped = f"{header}.{_b64(json.dumps(more_version).encode())}.{signature}"
        alg_none = f"{_b64(json.dumps({'alg': 'none', 'kid': current_kid}).encode())}.{payload}."

        for name, token in {
            "forged with the app's kid": forged,
            "signed by an unknown key": unknown_key,
            "payload of another ticket": swapped_payload,
            "one signature character changed": bad_signature,
            "version changed": bumped,
            "alg none": alg_none,
            "not a token": "hello",
            "empty": "",
            "a JWT-looking blob": "a.b.c",
        }.items():
            refused = await app.check_in(staff, token, event_id)
            assert refused.status_code == 400, (name, refused.text)
            problem(refused, 400, "invalid_ticket")

        # The right ticket at the wrong door.
        problem(await app.check_in(staff, real, other_event), 422, "wrong_event")
        other_order = await _sold_ticket(app, other_event, other_standing)
        problem(
            await app.check_in(staff, other_order["tickets"][0]["token"], event_id),
            422,
            "wrong_event",
        )

        # None of the refusals used the ticket up.
        admitted = expect(await app.check_in(staff, real, event_id), 200).json()
        assert admitted["ticket_id"] == ticket["id"]
        # A customer is no scanner, nor is a staff account of no organization of the event's.
        customer = await app.auth("alice", email="alice@example.test")
        problem(await app.check_in(customer, sibling["token"], event_id), 404, "event_not_found")
        outsider = await app.auth("stan", "staff")
        problem(await app.check_in(outsider, sibling["token"], event_id), 404, "event_not_found")


async def test_a_refunded_orders_ticket_is_void_though_its_signature_is_good(
    tmp_path: Path, ticket_keys: str
) -> None:
    async with running_app(settings_from(tmp_path, ticket_keys=ticket_keys)) as app:
        organizer = await app.auth("olga", "organizer")
        buyer = await app.auth("alice", email="alice@example.test")
        event_id, standing = await app.sale(organizer)
        staff = await app.door(event_id)
        order = await _sold_ticket(app, event_id, standing)
        used = order["tickets"][0]["token"]
        expect(await app.check_in(staff, used, event_id), 200)
        # An order with a used ticket is not refunded; an unused one is.
        problem(
            await app.client.post(f"/v1/orders/{order['id']}/cancel", headers=buyer),
            409,
            "ticket_used",
        )
        order = await _sold_ticket(app, event_id, standing)
        first, second = (t["token"] for t in order["tickets"])

        cancelled = expect(
            await app.client.post(f"/v1/orders/{order['id']}/cancel", headers=buyer), 200
        ).json()
        assert cancelled["status"] == "refunded"
        assert {t["status"] for t in cancelled["tickets"]} == {"void"}

        # A scanner offline with the published keys would still accept the signature ...
        jwks = expect(await app.client.get("/v1/tickets/keys"), 200).json()
        kid = json.loads(_unb64(first.split(".")[0]))["kid"]
        (public,) = [OKPKey.import_key(k) for k in jwks["keys"] if k["kid"] == kid]
        with warnings.catch_warnings():  # "EdDSA is deprecated" (RFC 9864): the format stays
            warnings.simplefilter("ignore", SecurityWarning)
            assert jws.deserialize_compact(first, public, algorithms=["EdDSA", "Ed25519"]).payload
        # ... but the door asks the server, which knows the order was refunded.
        for token in (first, second):
            problem(await app.check_in(staff, token, event_id), 410, "ticket_void")
