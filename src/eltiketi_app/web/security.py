"""The pages' response headers: a Content-Security-Policy without inline scripts or styles.

Scripts and styles come only from ``/static`` (htmx is configured by a ``<meta>``
so it injects no inline style, and no page uses ``hx-on`` or inline handlers);
forms post only to this site, and the redirects that follow a form may go only to
the public URL's origin (the fake payment page), the OIDC issuer (sign-in and
sign-out start from forms) and Stripe Checkout; nothing may frame the pages. The
policy is the app's one page policy (:data:`eltiketi_app.http.security.PAGE_POLICY`),
extended, never replaced; the card page adds Stripe's origins for its own response
only (:func:`card_page_policy`). The other security headers come from the app-wide
layer, which keeps the ones set here.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from litestar.datastructures import ResponseHeader

from eltiketi_app.http.security import PAGE_POLICY
from eltiketi_app.settings import Settings, StripeMode
from eltiketi_app.web.payments import CardPayments

STRIPE_CHECKOUT_ORIGIN = "https://checkout.stripe.com"


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _form_targets(settings: Settings) -> list[str]:
    targets = [_origin(settings.effective_public_url)]
    if settings.uses_web_oidc_login and settings.oidc_issuer:
        targets.append(_origin(settings.oidc_issuer))
    if settings.stripe_api_key is not None and settings.stripe_mode is StripeMode.CHECKOUT:
        targets.append(STRIPE_CHECKOUT_ORIGIN)
    return targets


def content_security_policy(
    settings: Settings, extra: dict[str, tuple[str, ...]] | None = None
) -> str:
    """The policy of every page; ``extra`` adds sources to directives (the card page)."""
    policy = PAGE_POLICY.extend(form_action=_form_targets(settings))
    if extra:
        policy = policy.extend(**{name.replace("-", "_"): srcs for name, srcs in extra.items()})
    return policy.header()


def card_page_policy(settings: Settings, cards: CardPayments) -> dict[str, str]:
    """The card page's own CSP header (Stripe.js allowed), replacing the router's."""
    return {"Content-Security-Policy": content_security_policy(settings, cards.policy_sources())}


def page_headers(settings: Settings) -> list[ResponseHeader]:
    return [
        ResponseHeader(name="Content-Security-Policy", value=content_security_policy(settings)),
        ResponseHeader(name="X-Content-Type-Options", value="nosniff"),
        ResponseHeader(name="Referrer-Policy", value="same-origin"),
        ResponseHeader(name="X-Frame-Options", value="DENY"),
    ]
