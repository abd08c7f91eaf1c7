"""The example Keycloak realm says what docs/keycloak.md promises (no Keycloak needed)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from eltiketi_core.domain.identity import Role

REALM_FILE = Path(__file__).parents[4] / "examples" / "keycloak" / "realm-export.json"


@pytest.fixture(scope="module")
def realm() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(REALM_FILE.read_text())
    return loaded


def client(realm: dict[str, Any], client_id: str) -> dict[str, Any]:
    (found,) = [c for c in realm["clients"] if c["clientId"] == client_id]
    assert isinstance(found, dict)
    return found


def audience_mappers(found: dict[str, Any]) -> list[str]:
    return [
        mapper["config"]["included.client.audience"]
        for mapper in found.get("protocolMappers", [])
        if mapper["protocolMapper"] == "oidc-audience-mapper"
        and mapper["config"].get("access.token.claim") == "true"
    ]


def test_realm_and_roles(realm: dict[str, Any]) -> None:
    assert realm["realm"] == "eltiketi"
    assert realm["enabled"] is True
    names = {role["name"] for role in realm["roles"]["realm"]}
    assert {role.value for role in Role} <= names
    (default,) = [r for r in realm["roles"]["realm"] if r["name"] == realm["defaultRole"]["name"]]
    assert "customer" in default["composites"]["realm"]
    composites = {
        name for r in realm["roles"]["realm"] for name in r.get("composites", {}).get("realm", [])
    }
    assert composites <= names  # every composite refers to a role the file defines


def test_web_client_is_public_pkce_with_the_api_audience(realm: dict[str, Any]) -> None:
    web = client(realm, "eltiketi-web")
    assert web["publicClient"] is True
    assert web["standardFlowEnabled"] is True
    assert web["implicitFlowEnabled"] is False
    assert web["directAccessGrantsEnabled"] is False
    assert web["attributes"]["pkce.code.challenge.method"] == "S256"
    assert all(
        uri.startswith(("http://localhost:", "http://127.0.0.1:")) for uri in web["redirectUris"]
    )
    assert audience_mappers(web) == ["eltiketi-api"]


def test_api_client_is_confidential_with_a_service_account(realm: dict[str, Any]) -> None:
    api = client(realm, "eltiketi-api")
    assert api["publicClient"] is False
    assert api["serviceAccountsEnabled"] is True
    assert api["clientAuthenticatorType"] == "client-secret"
    assert api["secret"].startswith("CHANGE-ME")
    assert audience_mappers(api) == ["eltiketi-api"]
    service_users = [u for u in realm["users"] if u.get("serviceAccountClientId") == "eltiketi-api"]
    assert len(service_users) == 1


@pytest.mark.parametrize(("username", "role"), [("alice", None), ("olga", "organizer")])
def test_demo_users_can_log_in_with_their_roles(
    realm: dict[str, Any], username: str, role: str | None
) -> None:
    (user,) = [u for u in realm["users"] if u["username"] == username]
    assert user["enabled"] is True
    assert user["emailVerified"] is True
    assert user["email"]
    (password,) = user["credentials"]
    assert password["type"] == "password"
    assert password["temporary"] is False
    expected = {realm["defaultRole"]["name"]} | ({role} if role else set())
    assert set(user["realmRoles"]) == expected


def test_shop_client_is_a_confidential_pkce_client_with_its_callback_and_logout(
    realm: dict[str, Any],
) -> None:
    shop = client(realm, "eltiketi-shop")
    assert shop["publicClient"] is False
    assert shop["clientAuthenticatorType"] == "client-secret"
    assert shop["secret"].startswith("CHANGE-ME")
    assert shop["standardFlowEnabled"] is True
    assert shop["implicitFlowEnabled"] is False
    assert shop["directAccessGrantsEnabled"] is False
    assert shop["serviceAccountsEnabled"] is False
    assert shop["attributes"]["pkce.code.challenge.method"] == "S256"
    assert all(uri.endswith("/login/callback") for uri in shop["redirectUris"])
    logout = shop["attributes"]["post.logout.redirect.uris"].split("##")
    assert {uri.removesuffix("/login/callback") + "/" for uri in shop["redirectUris"]} == set(
        logout
    )
    assert audience_mappers(shop) == ["eltiketi-api"]
