"""Security headers on every answer; ``Cache-Control: no-store`` on every authenticated one.

Seen before: no security header at all, and ``GET /v1/orders/{id}`` answered the
signed ticket tokens without a cache header.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from eltiketi_app.http.security import API_POLICY, PAGE_POLICY, ContentSecurityPolicy
from tests.api.conftest import Api, embedded_settings


def directives(answer: httpx.Response) -> dict[str, list[str]]:
    policy = answer.headers["content-security-policy"]
    parsed: dict[str, list[str]] = {}
    for part in policy.split(";"):
        name, *sources = part.split()
        parsed[name] = sources
    return parsed


def assert_secured(answer: httpx.Response) -> None:
    assert answer.headers["x-content-type-options"] == "nosniff", answer.request.url
    assert answer.headers["referrer-policy"] == "no-referrer"
    policy = directives(answer)
    assert policy["frame-ancestors"] == ["'none'"]
    for name in ("script-src", "default-src"):
        assert "'unsafe-inline'" not in policy.get(name, []), policy
        assert "'unsafe-eval'" not in policy.get(name, []), policy


async def test_every_kind_of_answer_is_secured(api: Api) -> None:
    event_id, standing = await api.sale()
    alice = api.customer("alice")
    order = await api.buy(alice, event_id, standing)
    ticket = order["tickets"][0]["id"]
    held = (await api.hold(alice, event_id, standing)).json()
    payment = await api.start_payment(alice, held["id"])

    answers = [
        await api.client.get("/v1/events"),
        await api.client.get(f"/v1/events/{event_id}"),
        await api.client.get("/v1/nothing-here"),
        await api.client.put("/v1/events"),
        await api.client.get(f"/v1/orders/{order['id']}", headers=alice),
        await api.client.get("/v1/orders"),
        await api.client.get(f"/v1/tickets/{ticket}/qr.png", headers=alice),
        await api.client.get(f"/v1/tickets/{ticket}/qr.svg", headers=alice),
        await api.client.get("/v1/tickets/keys"),
        await api.client.get("/metrics"),
        await api.client.get("/health/live"),
        await api.client.get("/schema"),
        await api.client.get("/schema/openapi.json"),
        await api.client.get(
            payment["checkout_url"].replace(api.settings.effective_public_url, "")
        ),
    ]

    for answer in answers:
        assert_secured(answer)
    json_answer, image, page = answers[0], answers[6], answers[-1]
    assert directives(json_answer)["default-src"] == ["'none'"]
    assert directives(image)["default-src"] == ["'none'"]
    assert page.headers["content-type"].startswith("text/html")
    assert directives(page)["script-src"] == ["'self'"]
    assert directives(page)["form-action"] == ["'self'"]
    assert "strict-transport-security" not in json_answer.headers  # http://127.0.0.1


async def test_authenticated_answers_are_never_cached(api: Api) -> None:
    event_id, standing = await api.sale()
    alice = api.customer("alice")
    order = await api.buy(alice, event_id, standing)
    ticket = order["tickets"][0]["id"]

    for answer in (
        await api.client.get(f"/v1/orders/{order['id']}", headers=alice),
        await api.client.get("/v1/orders", headers=alice),
        await api.client.get(f"/v1/tickets/{ticket}/qr.png", headers=alice),
        await api.client.get("/v1/tickets/keys", headers=alice),
        await api.client.get(f"/v1/events/{event_id}", headers=alice),
        await api.client.get("/v1/orders", headers={"Authorization": "Bearer nonsense"}),
    ):
        directives_seen = {d.strip() for d in answer.headers["cache-control"].split(",")}
        assert "no-store" in directives_seen, (answer.request.url, answer.headers)
        assert "public" not in directives_seen
        assert answer.headers.get_list("cache-control") == [answer.headers["cache-control"]]

    public = await api.client.get("/v1/tickets/keys")
    assert public.headers["cache-control"] == "public, max-age=300"


async def test_https_public_urls_get_hsts(start_app: Any, tmp_path: Path) -> None:
    settings = embedded_settings(tmp_path, public_url="https://tickets.example.com")
    async with start_app(settings) as api:
        answer = await api.client.get("/v1/events")

    assert answer.headers["strict-transport-security"].startswith("max-age=")
    assert int(answer.headers["strict-transport-security"].split("=")[1]) >= 180 * 24 * 3600


def test_pages_extend_the_page_policy_but_never_with_inline_scripts() -> None:
    htmx_page = PAGE_POLICY.extend(img_src=["https://images.example.com"])

    assert htmx_page.sources("img-src") == ("'self'", "data:", "https://images.example.com")
    assert htmx_page.sources("script-src") == ("'self'",)
    assert PAGE_POLICY.sources("img-src") == ("'self'", "data:")  # the base is untouched
    with pytest.raises(ValueError, match="inline"):
        PAGE_POLICY.extend(script_src=["'unsafe-inline'"])
    with pytest.raises(ValueError, match="inline"):
        PAGE_POLICY.extend(script_src_elem=["'unsafe-eval'"])
    assert API_POLICY.header() == (
        "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    )
    assert isinstance(ContentSecurityPolicy.of(default_src=["'self'"]).header(), str)
