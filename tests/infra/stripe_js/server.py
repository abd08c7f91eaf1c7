"""The Stripe.js stand-in's server, test-only: serves ``stripe.js`` at ``/v3/`` and confirms
PaymentIntents with card details the way Stripe's API does for Stripe.js.

Stripe.js confirms a PaymentIntent from the browser with the publishable key and the
intent's client secret. localstripe accepts publishable keys on a few routes only, so this
server takes that request, checks the client secret against the intent, and does the same
on localstripe with the secret key: create the card PaymentMethod, attach it to the intent,
confirm. Declines come back as Stripe.js reports them (``{"error": {"type": "card_error",
…}}``). Cross-origin like the real API (the page is on the shop's origin).

Usage: python server.py <port> <localstripe base URL> <secret key>
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import httpx
from aiohttp import web

SCRIPT = Path(__file__).with_name("stripe.js")
CORS = {"Access-Control-Allow-Origin": "*"}


def _error(status: int, kind: str, message: str, code: str | None = None) -> web.Response:
    error: dict[str, Any] = {"type": kind, "message": message}
    if code:
        error["code"] = code
    return web.json_response({"error": error}, status=status, headers=CORS)


async def script(request: web.Request) -> web.Response:
    return web.Response(
        text=SCRIPT.read_text(), content_type="application/javascript", headers=CORS
    )


async def confirm(request: web.Request) -> web.Response:
    api: httpx.AsyncClient = request.app["api"]
    intent_id = request.match_info["intent"]
    form = await request.post()
    if not str(form.get("key", "")).startswith("pk_"):
        return _error(401, "invalid_request_error", "Invalid API Key provided.")
    intent = await api.get(f"/v1/payment_intents/{intent_id}")
    if intent.status_code != 200 or intent.json().get("client_secret") != form.get("client_secret"):
        return _error(400, "invalid_request_error", "No such payment_intent.", "resource_missing")
    card = {
        f"card[{part}]": str(form.get(f"payment_method_data[card][{part}]", ""))
        for part in ("number", "exp_month", "exp_year", "cvc")
    }
    method = await api.post("/v1/payment_methods", data={"type": "card", **card})
    if method.status_code != 200:
        return _error(402, "card_error", "Your card number is invalid.", "invalid_number")
    attached = await api.post(
        f"/v1/payment_intents/{intent_id}", data={"payment_method": method.json()["id"]}
    )
    if attached.status_code != 200:
        return _error(400, "invalid_request_error", "This PaymentIntent cannot be paid again.")
    confirmed = await api.post(f"/v1/payment_intents/{intent_id}/confirm")
    if confirmed.status_code != 200:
        error = confirmed.json().get("error", {})
        return _error(
            402,
            "card_error",
            str(error.get("message") or "Your card was declined."),
            str(error.get("code") or "card_declined"),
        )
    return web.json_response(confirmed.json(), headers=CORS)


async def _client(app: web.Application) -> Any:
    app["api"] = httpx.AsyncClient(base_url=app["base"], auth=(app["key"], ""), timeout=10.0)
    yield
    await app["api"].aclose()


def main() -> None:
    port, base, key = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    app = web.Application()
    app["base"], app["key"] = base, key
    app.cleanup_ctx.append(_client)
    app.router.add_get("/v3/", script)
    app.router.add_post("/v1/payment_intents/{intent}/confirm", confirm)
    web.run_app(
        app,
        host="127.0.0.1",
        port=port,
        print=lambda *_: print(f"STRIPE JS READY {port}", flush=True),
        access_log=None,
    )


if __name__ == "__main__":
    main()
