"""A JSON route takes JSON only: another ``Content-Type`` is ``415 unsupported_media_type``.

Seen before: JSON sent as ``text/plain`` was accepted, and its types were converted
leniently (``"capacity": "10"`` became 10) because the strict check only ran for
``application/json``.
"""

from __future__ import annotations

import json

import pytest

from tests.api.conftest import Api, problem

TICKET_TYPE = {"name": "GA", "price": {"amount": 1000, "currency": "EUR"}, "capacity": 10}


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "text/html; charset=utf-8", None],
)
async def test_a_json_body_under_another_media_type_is_refused(
    api: Api, content_type: str | None
) -> None:
    olga = api.auth("olga", "organizer")
    event = await api.create_event(olga)
    headers = dict(olga)
    if content_type is not None:
        headers["Content-Type"] = content_type

    answer = await api.client.post(
        f"/v1/events/{event['id']}/ticket-types",
        content=json.dumps(TICKET_TYPE).encode(),
        headers=headers,
    )

    body = problem(answer, 415, "unsupported_media_type")
    assert "application/json" in body["detail"]
    seen = (await api.client.get(f"/v1/events/{event['id']}", headers=olga)).json()
    assert seen["ticket_types"] == []


async def test_lenient_types_do_not_sneak_in_as_text(api: Api) -> None:
    olga = api.auth("olga", "organizer")
    event = await api.create_event(olga)
    lenient = {**TICKET_TYPE, "capacity": "10"}

    answer = await api.client.post(
        f"/v1/events/{event['id']}/ticket-types",
        content=json.dumps(lenient).encode(),
        headers={**olga, "Content-Type": "text/plain"},
    )

    problem(answer, 415, "unsupported_media_type")


@pytest.mark.parametrize(
    "content_type", ["application/json; charset=utf-8", "application/json", "APPLICATION/JSON"]
)
async def test_json_with_parameters_is_json(api: Api, content_type: str) -> None:
    olga = api.auth("olga", "organizer")
    event = await api.create_event(olga)

    answer = await api.client.post(
        f"/v1/events/{event['id']}/ticket-types",
        content=json.dumps(TICKET_TYPE).encode(),
        headers={**olga, "Content-Type": content_type},
    )

    assert answer.status_code == 201, answer.text


async def test_a_route_without_a_body_still_takes_none(api: Api) -> None:
    olga = api.auth("olga", "organizer")
    event = await api.create_event(olga)
    await api.add_type(olga, event["id"])

    answer = await api.client.post(f"/v1/events/{event['id']}/publish", headers=olga)

    assert answer.status_code == 200, answer.text


async def test_the_webhook_keeps_its_raw_body(api: Api) -> None:
    """The gateway's callback is verified byte for byte: no JSON rule applies to it."""
    answer = await api.client.post(
        "/v1/payments/fake/webhook", content=b"not json", headers={"Content-Type": "text/plain"}
    )

    problem(answer, 400, "invalid_signature")
