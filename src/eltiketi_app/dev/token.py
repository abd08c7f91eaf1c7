"""``POST /dev/token``: a bearer token for anyone, in embedded mode only (seed step 2).

In production the client gets its token from Keycloak (authorization code + PKCE);
this route does not exist there.
"""

from __future__ import annotations

from dishka.integrations.litestar import FromDishka, inject
from litestar import Router, post
from litestar.params import JSONBody

from eltiketi_adapters.devauth import DevTokenIssuer
from eltiketi_app.http.openapi import can_answer
from eltiketi_app.http.schemas import DevTokenIn, DevTokenOut
from eltiketi_core.errors import ValidationFailed


@can_answer("invalid_subject", "invalid_token_request")
@post(
    "/token",
    status_code=200,
    summary="Mint a dev token (embedded mode only)",
    description="Roles: `organizer`, `staff`, `admin` (everyone is a customer). "
    "Absent in production, where tokens come from the OIDC issuer.",
)
@inject
async def dev_token(data: JSONBody[DevTokenIn], issuer: FromDishka[DevTokenIssuer]) -> DevTokenOut:
    if not data.sub.strip():
        raise ValidationFailed("invalid_subject", "sub must not be empty")
    try:
        token = issuer.mint(data.sub.strip(), data.roles, email=data.email, phone=data.phone)
    except ValueError as exc:
        # The issuer's own message (an unknown role, a bad e-mail): written for people.
        raise ValidationFailed("invalid_token_request", str(exc)) from None
    return DevTokenOut(access_token=token)


router = Router(path="/dev", tags=["dev (embedded only)"], route_handlers=[dev_token])
