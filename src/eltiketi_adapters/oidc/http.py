"""Talking to the issuer over HTTP: every transport or protocol failure becomes a 503."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import httpx

from eltiketi_adapters.oidc.errors import issuer_unavailable

logger = logging.getLogger("eltiketi.keycloak")


async def get_json(client: httpx.AsyncClient, url: str, what: str) -> dict[str, Any]:
    """GET ``url`` and return its JSON object; ``GatewayUnavailable`` on any failure."""
    return await _send(client, "GET", url, what)


async def post_form(
    client: httpx.AsyncClient,
    url: str,
    what: str,
    *,
    data: Mapping[str, str],
    auth: httpx.Auth | None = None,
) -> dict[str, Any]:
    """POST a form and return the JSON object answered; ``GatewayUnavailable`` on any failure."""
    return await _send(client, "POST", url, what, data=data, auth=auth)


async def _send(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    what: str,
    *,
    data: Mapping[str, str] | None = None,
    auth: httpx.Auth | None = None,
) -> dict[str, Any]:
    try:
        response = await client.request(
            method,
            url,
            data=data,
            auth=auth if auth is not None else httpx.USE_CLIENT_DEFAULT,
            headers={"accept": "application/json"},
        )
    except httpx.HTTPError as exc:
        logger.warning(
            "identity provider unreachable",
            extra={"what": what, "url": url, "error": type(exc).__name__},
        )
        raise issuer_unavailable(f"{what}: {type(exc).__name__}") from exc
    if response.status_code != httpx.codes.OK:
        logger.warning(
            "identity provider answered an error",
            extra={"what": what, "url": url, "status": response.status_code},
        )
        raise issuer_unavailable(f"{what}: HTTP {response.status_code}")
    try:
        body = response.json()
    except ValueError as exc:
        raise issuer_unavailable(f"{what}: the answer is not JSON") from exc
    if not isinstance(body, dict):
        raise issuer_unavailable(f"{what}: the answer is not a JSON object")
    return body
