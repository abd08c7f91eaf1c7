"""``POST /dev/token``: a bearer token for anyone, in embedded mode only (seed step 2).

In production the client gets its token from Keycloak (authorization code + PKCE);
this route does not exist there.

Membership of an organization is not a claim: it is a row in our database. A dev
token asked for with ``members`` first makes sure those memberships exist (an
operator's grant, no invitation), then mints the token as usual.
"""

from __future__ import annotations

from dishka.integrations.litestar import FromDishka, inject
from litestar import Router, post
from litestar.params import JSONBody

from eltiketi_adapters.devauth import DevTokenIssuer
from eltiketi_app.http.openapi import can_answer
from eltiketi_app.http.schemas import DevTokenIn, DevTokenOut
from eltiketi_core.errors import ValidationFailed
from eltiketi_core.usecases.organizations import Organizations


@can_answer("invalid_subject", "invalid_token_request", "organization_not_found", "invalid_email")
@post(
    "/token",
    status_code=200,
    summary="Mint a dev token (embedded mode only)",
    description="Roles: `organizer`, `staff`, `admin` (everyone is a customer). "
    "`email_verified` defaults to true when `email` is given. `members` "
    "(`[{organization_id, role}]`) makes the user a member of those organizations first "
    "(404 `organization_not_found` for an unknown one). "
    "Absent in production, where tokens come from the OIDC issuer.",
)
@inject
async def dev_token(
    data: JSONBody[DevTokenIn],
    issuer: FromDishka[DevTokenIssuer],
    organizations: FromDishka[Organizations],
) -> DevTokenOut:
    subject = data.sub.strip()
    if not subject:
        raise ValidationFailed("invalid_subject", "sub must not be empty")
    try:
        token = issuer.mint(
            subject,
            data.roles,
            email=data.email,
            phone=data.phone,
            email_verified=data.email_verified,
        )
    except ValueError as exc:
        # The issuer's own message (an unknown role, a bad e-mail): written for people.
        raise ValidationFailed("invalid_token_request", str(exc)) from None
    for member in data.members:
        await organizations.grant(
            member.organization_id, subject, member.role, email=data.email, by="dev-token"
        )
    return DevTokenOut(access_token=token)


router = Router(path="/dev", tags=["dev (embedded only)"], route_handlers=[dev_token])
