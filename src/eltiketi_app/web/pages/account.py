"""Signing in and out, and the language switch on every page.

Two logins, one of them mounted: with an OIDC issuer and a web client, ``/login``
sends the browser to the issuer (authorization code + PKCE) and ``/login/callback``
takes it back (:mod:`eltiketi_app.web.oidc_login`); in embedded mode with the dev
issuer, ``/login`` is a form minting a dev token (name, e-mail, roles). Where neither
is configured, ``/login`` says sign-in is not available. Both ends of a login give
the session a new id (no fixation).
"""

from __future__ import annotations

from typing import Any

from dishka.integrations.litestar import FromDishka, inject
from litestar import Request, Response, get, post
from litestar.datastructures import Cookie
from litestar.response import Redirect, Template

from eltiketi_app.web.auth import AUTH_KEY, DevTokens, WebLogin, safe_return_path
from eltiketi_app.web.i18n import LANGUAGE_COOKIE, LANGUAGES, N_
from eltiketi_app.web.oidc_login import LoginExpired, OidcLogin
from eltiketi_app.web.pages.common import Screen
from eltiketi_app.web.session import rotate

MAX_NAME = 64
MAX_EMAIL = 320
MAX_PHONE = 40
DEV_ROLES = ("organizer", "staff", "admin")
LANGUAGE_COOKIE_SECONDS = 365 * 24 * 3600


@get("/login", name="web:login", summary="Sign in (embedded: the dev login)")
@inject
async def login_form(screen: FromDishka[Screen]) -> Template:
    return screen.render(
        "login.html",
        title=screen.lang.gettext("Sign in"),
        next=safe_return_path(screen.request.query_params.get("next")),
        form={"name": "", "email": "", "phone": "", "roles": []},
        errors=[],
        roles=DEV_ROLES,
    )


@post("/login", name="web:login-submit", summary="Sign in with a dev token (embedded only)")
@inject
async def login_submit(
    issuer: FromDishka[DevTokens], screen: FromDishka[Screen]
) -> Response[Any] | Template:
    request, lang = screen.request, screen.lang
    form = await request.form()
    name = str(form.get("name") or "").strip()
    email = str(form.get("email") or "").strip()
    phone = str(form.get("phone") or "").strip()
    roles = [str(r) for r in form.getall("roles", []) if r in DEV_ROLES]
    values = {"name": name, "email": email, "phone": phone, "roles": roles}
    next_path = safe_return_path(str(form.get("next") or ""))
    errors = []
    if not name or len(name) > MAX_NAME:
        errors.append({"field": "name", "text": lang.gettext(N_("Enter a user name"))})
    if email and ("@" not in email.strip("@") or len(email) > MAX_EMAIL):
        errors.append(
            {
                "field": "email",
                "text": lang.gettext(N_("Enter an e-mail address like name@example.com")),
            }
        )
    if len(phone) > MAX_PHONE:
        errors.append({"field": "phone", "text": lang.gettext(N_("Enter a shorter phone number"))})
    if errors:
        return screen.render(
            "login.html",
            status=422,
            title=lang.gettext("Sign in"),
            next=next_path,
            form=values,
            errors=errors,
            roles=DEV_ROLES,
        )
    token = issuer.mint(name, roles, email=email or None, phone=phone or None)
    request.session[AUTH_KEY] = {"access_token": token, "name": name}
    rotate(request)
    return Redirect(next_path, status_code=303)


@get("/login", name="web:login-unavailable", summary="Sign in (not configured)")
@inject
async def login_unavailable(screen: FromDishka[Screen]) -> Template:
    return screen.render(
        "error.html", status=503, title="login_unavailable", code="login_unavailable"
    )


@get("/login", name="web:oidc-login", summary="Sign in at the identity provider")
@inject
async def oidc_login(login: FromDishka[OidcLogin], screen: FromDishka[Screen]) -> Response[Any]:
    next_path = safe_return_path(screen.request.query_params.get("next"))
    if screen.visitor.principal is not None:
        return Redirect(next_path, status_code=303)
    return Redirect(await login.begin(screen.request.session, next_path), status_code=303)


@get("/login/callback", name="web:oidc-callback", summary="Back from the identity provider")
@inject
async def oidc_callback(
    login: FromDishka[OidcLogin], screen: FromDishka[Screen]
) -> Response[Any] | Template:
    request = screen.request
    params = request.query_params
    state = str(params.get("state") or "")
    code = str(params.get("code") or "")
    problem = None
    if params.get("error") or not code:
        # the person cancelled at the issuer, or it refused: they stay signed out
        login.forget(request.session, state)
        problem, status = "login_cancelled", 400
    else:
        try:
            target = await login.complete(request.session, state=state, code=code)
        except LoginExpired:
            problem, status = "login_expired", 400
    if problem is not None:
        return screen.render("error.html", status=status, title=problem, code=problem)
    rotate(request)  # a new session id for the signed-in session: no fixation
    return Redirect(target, status_code=303)


@post("/logout", name="web:logout", summary="Sign out")
@inject
async def logout(request: Request[Any, Any, Any], login: FromDishka[WebLogin]) -> Response[Any]:
    target = await login.logout_url(request.session)
    request.clear_session()
    return Redirect(target, status_code=303)


@post("/language", name="web:language", summary="Choose the language of the pages")
async def choose_language(request: Request[Any, Any, Any]) -> Response[Any]:
    form = await request.form()
    chosen = str(form.get("lang") or "")
    target = safe_return_path(str(form.get("next") or ""))
    cookies = []
    if chosen in LANGUAGES:
        cookies.append(
            Cookie(
                key=LANGUAGE_COOKIE,
                value=chosen,
                max_age=LANGUAGE_COOKIE_SECONDS,
                path="/",
                samesite="lax",
                httponly=True,
                secure=request.url.scheme == "https",
            )
        )
    return Redirect(target, status_code=303, cookies=cookies)
