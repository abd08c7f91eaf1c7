"""Where the tickets go, through the API: 422 ``contact_required`` and ``invalid_contact``."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.api.conftest import Api, Headers, problem


async def _book(api: Api, who: Headers, contact: dict[str, Any] | None) -> httpx.Response:
    event_id, standing = await api.sale()
    body: dict[str, Any] = {
        "event_id": event_id,
        "items": [{"ticket_type_id": standing, "quantity": 1}],
    }
    if contact is not None:
        body["contact"] = contact
    return await api.client.post("/v1/bookings", json=body, headers=who)


@pytest.mark.parametrize(
    ("contact", "field"),
    [
        ({"email": "alice\u0000@example.com"}, "email"),
        ({"email": "alice@example.com\r\nBcc: everyone@example.com"}, "email"),
        ({"email": "a" * 300 + "@example.com"}, "email"),
        ({"email": "alice@bench.invalid"}, "email"),
        ({"email": "alice@example.com", "phone": "not-a-phone"}, "phone"),
        ({"phone": "+49 30 1234567\r\nBcc: x"}, "phone"),
        ({"phone": "+49" + "1" * 40}, "phone"),
    ],
)
async def test_a_bad_contact_is_422_invalid_contact_naming_the_field(
    api: Api, contact: dict[str, Any], field: str
) -> None:
    answer = await _book(api, api.customer("alice"), contact)
    body = problem(answer, 422, "invalid_contact")
    assert body["field"] == field
    assert body["reason"]
    assert field in body["detail"]


async def test_contacts_are_stored_normalised(api: Api) -> None:
    answer = await _book(
        api, api.customer("alice"), {"email": "Alice@Example.COM", "phone": "+1 (415) 555-2671"}
    )
    assert answer.status_code == 201, answer.text
    assert answer.json()["contact"] == {"email": "Alice@example.com", "phone": "+14155552671"}


async def test_no_contact_anywhere_is_422_contact_required(api: Api) -> None:
    nobody = api.auth("ghost")  # a token without e-mail or phone
    problem(await _book(api, nobody, None), 422, "contact_required")
    problem(await _book(api, nobody, {"email": "", "phone": None}), 422, "contact_required")
    given = await _book(api, nobody, {"phone": "+49 30 1234567"})
    assert given.status_code == 201, given.text
    assert given.json()["contact"] == {"email": None, "phone": "+49301234567"}


async def test_a_bad_claim_in_the_token_falls_back_to_the_other_channel(api: Api) -> None:
    odd = api.auth("odd", email="odd@bench.invalid", phone="+44 7911 123456")
    answer = await _book(api, odd, None)
    assert answer.status_code == 201, answer.text
    assert answer.json()["contact"] == {"email": None, "phone": "+447911123456"}
    problem(await _book(api, api.auth("odder", email="odd@@"), None), 422, "contact_required")


async def test_embedded_mode_accepts_test_domains(api: Api) -> None:
    answer = await _book(api, api.auth("tess", email="tess@example.test"), None)
    assert answer.status_code == 201, answer.text
    assert answer.json()["contact"]["email"] == "tess@example.test"


async def test_changing_the_contact_of_a_hold_is_checked_the_same_way(api: Api) -> None:
    alice = api.customer("alice")
    booking = (await _book(api, alice, None)).json()
    url = f"/v1/bookings/{booking['id']}"

    bad = await api.client.patch(url, json={"contact": {"phone": "not-a-phone"}}, headers=alice)
    assert problem(bad, 422, "invalid_contact")["field"] == "phone"
    changed = await api.client.patch(
        url, json={"contact": {"phone": "+1 (415) 555-2671"}}, headers=alice
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["contact"] == {"email": None, "phone": "+14155552671"}
