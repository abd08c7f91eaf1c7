"""Smoke tests: the oidc-provider fixture behaves like the Keycloak realm our adapter expects."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import KeySet

from tests.infra.oidc import (
    API_AUDIENCE,
    OidcFlowError,
    OidcServer,
    client_credentials_token,
    decode_unverified,
    introspect,
    login_with_pkce,
    opaque_token,
    revoke,
)

pytestmark = pytest.mark.oidc


def _kids(server: OidcServer) -> list[str]:
    return [key["kid"] for key in server.jwks()["keys"]]


def _verify(server: OidcServer, token: str) -> dict[str, object]:
    """Check the signature against the published JWKS, as our token verifier will."""
    jwks: Any = server.jwks()
    claims: dict[str, object] = jwt.decode(
        token, KeySet.import_key_set(jwks), algorithms=["RS256"]
    ).claims
    return claims


def _audiences(payload: dict[str, object]) -> list[object]:
    aud = payload["aud"]
    return aud if isinstance(aud, list) else [aud]


def test_discovery_uses_keycloak_paths(oidc_server: OidcServer) -> None:
    config = httpx.get(oidc_server.discovery_url, timeout=10).json()
    base = f"{oidc_server.issuer}/protocol/openid-connect"
    assert oidc_server.issuer.endswith("/realms/eltiketi")
    assert config["issuer"] == oidc_server.issuer
    assert config["authorization_endpoint"] == f"{base}/auth"
    assert config["token_endpoint"] == f"{base}/token"
    assert config["jwks_uri"] == f"{base}/certs"
    assert config["userinfo_endpoint"] == f"{base}/userinfo"
    assert config["introspection_endpoint"] == f"{base}/token/introspect"
    assert config["revocation_endpoint"] == f"{base}/revoke"
    assert config["end_session_endpoint"] == f"{base}/logout"


def test_pkce_login_gives_a_keycloak_style_jwt(oidc_server: OidcServer) -> None:
    tokens = login_with_pkce(oidc_server, "alice", "pass")

    header, payload = decode_unverified(tokens.access_token)
    assert _verify(oidc_server, tokens.access_token) == payload
    assert header["alg"] == "RS256"
    assert header["kid"] in _kids(oidc_server)
    assert payload["iss"] == oidc_server.issuer
    assert API_AUDIENCE in _audiences(payload)
    assert payload["realm_access"]["roles"] == ["customer"]
    assert payload["resource_access"]["eltiketi-api"]["roles"] == ["customer"]
    assert payload["azp"] == oidc_server.web_client_id
    assert payload["preferred_username"] == "alice"
    assert payload["email"] == "alice@eltiketi.test"
    assert tokens.id_token is not None
    assert decode_unverified(tokens.id_token)[1]["sub"] == payload["sub"]

    answer = introspect(oidc_server, tokens.access_token)
    assert answer["active"] is True
    assert answer["sub"] == payload["sub"]
    assert answer["realm_access"]["roles"] == ["customer"]


@pytest.mark.parametrize(("username", "role"), [("olga", "organizer"), ("sam", "staff")])
def test_each_user_carries_their_realm_role(
    oidc_server: OidcServer, username: str, role: str
) -> None:
    _, payload = decode_unverified(login_with_pkce(oidc_server, username).access_token)
    assert payload["realm_access"]["roles"] == [role]


def test_wrong_password_is_refused(oidc_server: OidcServer) -> None:
    with pytest.raises(OidcFlowError, match="login refused"):
        login_with_pkce(oidc_server, "alice", "not-the-password")


def test_service_account_token_is_a_jwt_for_the_api(oidc_server: OidcServer) -> None:
    _, payload = decode_unverified(client_credentials_token(oidc_server))
    assert API_AUDIENCE in _audiences(payload)
    assert payload["azp"] == oidc_server.api_client_id


def test_opaque_token_is_active_until_revoked(oidc_server: OidcServer) -> None:
    token = opaque_token(oidc_server, "alice")
    assert token.count(".") != 2  # not a JWT
    assert introspect(oidc_server, token)["active"] is True

    revoke(oidc_server, token)

    assert introspect(oidc_server, token) == {"active": False}


def test_revoked_jwt_introspects_inactive(oidc_server: OidcServer) -> None:
    token = client_credentials_token(oidc_server)
    revoke(oidc_server, token)
    assert introspect(oidc_server, token)["active"] is False


def test_introspection_needs_the_confidential_client(oidc_server: OidcServer) -> None:
    token = client_credentials_token(oidc_server)
    response = httpx.post(
        oidc_server.introspection_endpoint,
        data={"token": token},
        auth=(oidc_server.api_client_id, "wrong-secret"),
        timeout=10,
    )
    assert response.status_code == 401


def test_rotation_adds_a_new_current_key_and_keeps_the_old(oidc_server: OidcServer) -> None:
    before = login_with_pkce(oidc_server, "alice").access_token
    old_kid = decode_unverified(before)[0]["kid"]

    new_kid = oidc_server.rotate()

    after = login_with_pkce(oidc_server, "alice").access_token
    assert decode_unverified(after)[0]["kid"] == new_kid != old_kid
    assert {old_kid, new_kid} <= set(_kids(oidc_server))
    assert _verify(oidc_server, before)["sub"] == _verify(oidc_server, after)["sub"]
    assert introspect(oidc_server, before)["active"] is True
    assert introspect(oidc_server, after)["active"] is True
