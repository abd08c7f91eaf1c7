"""An SDK HTTP client that records every request and answers with Stripe-shaped JSON.

It stands in for Stripe's Checkout Session API, which localstripe lacks. It is *our model* of
Stripe's answers (shapes from Stripe's API reference), so tests built on it prove what the real
SDK sends and how the gateway reads the answers — not that Stripe accepts the request.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import stripe


@dataclass(frozen=True)
class RecordedRequest:
    """One HTTP request as the SDK put it on the wire (form body and query decoded)."""

    method: str
    url: str
    path: str
    query: dict[str, str]
    form: dict[str, str]
    headers: dict[str, str]

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers.items() if k.lower() == name.lower()), None)


Reply = tuple[int, dict[str, Any]]


@dataclass
class RecordingStripe(stripe.HTTPClient):
    """Records requests; serves Checkout Sessions, PaymentIntents and Refunds from memory.

    ``scripted`` replies (status, JSON) or exceptions are used first, one per request, to
    simulate Stripe failures. Idempotency is modelled as Stripe documents it: the same
    ``Idempotency-Key`` with the same parameters replays the first answer; with other
    parameters it is an ``idempotency_error``.
    """

    requests: list[RecordedRequest] = field(default_factory=list)
    sessions: dict[str, dict[str, Any]] = field(default_factory=dict)
    intents: dict[str, dict[str, Any]] = field(default_factory=dict)
    refunds: dict[str, dict[str, Any]] = field(default_factory=dict)
    scripted: list[Reply | Exception] = field(default_factory=list)
    closed: bool = False
    _replays: dict[str, tuple[dict[str, str], Reply]] = field(default_factory=dict)

    name = "recording"

    def __post_init__(self) -> None:
        stripe.HTTPClient.__init__(self)

    # -- the SDK's transport interface ----------------------------------------------------

    async def request_async(
        self, method: str, url: str, headers: Any, post_data: Any = None
    ) -> tuple[bytes, int, dict[str, str]]:
        parts = urlsplit(url)
        body = post_data.decode() if isinstance(post_data, bytes) else (post_data or "")
        recorded = RecordedRequest(
            method=method.upper(),
            url=url,
            path=parts.path,
            query=dict(parse_qsl(parts.query)),
            form=dict(parse_qsl(body)),
            headers=dict(headers),
        )
        self.requests.append(recorded)
        if self.scripted:
            scripted = self.scripted.pop(0)
            if isinstance(scripted, Exception):
                raise scripted
            status, payload = scripted
        else:
            status, payload = self._answer(recorded)
        return json.dumps(payload).encode(), status, {"request-id": f"req_{len(self.requests)}"}

    async def close_async(self) -> None:
        self.closed = True

    def sleep_async(self, secs: float) -> Awaitable[None]:
        return asyncio.sleep(0)

    # -- what a test does "as Stripe" -------------------------------------------------------

    def pay(self, session_id: str) -> str:
        """The buyer paid on the hosted page: the session completes with a PaymentIntent."""
        session = self.sessions[session_id]
        intent_id = f"pi_{uuid.uuid4().hex[:24]}"
        self.intents[intent_id] = {
            "id": intent_id,
            "object": "payment_intent",
            "status": "succeeded",
            "amount": session["amount_total"],
            "amount_received": session["amount_total"],
            "currency": session["currency"],
            "metadata": dict(session["payment_intent_data_metadata"]),
            "last_payment_error": None,
        }
        session.update(status="complete", payment_status="paid", payment_intent=intent_id)
        return intent_id

    def posts_to(self, path: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.method == "POST" and r.path == path]

    # -- routing ----------------------------------------------------------------------------

    def _answer(self, request: RecordedRequest) -> Reply:
        key = request.header("Idempotency-Key")
        if request.method == "POST" and key in self._replays:
            form, reply = self._replays[key]
            if form != request.form:
                return _error(
                    400,
                    "idempotency_error",
                    None,
                    "Keys for idempotent requests can "
                    "only be used with the same parameters they were first used with.",
                )
            return reply
        reply = self._route(request)
        if request.method == "POST" and key is not None:
            self._replays[key] = (request.form, reply)
        return reply

    def _route(self, request: RecordedRequest) -> Reply:
        segments = request.path.strip("/").split("/")
        match request.method, segments:
            case "POST", ["v1", "checkout", "sessions"]:
                return 200, self._create_session(request.form)
            case "GET", ["v1", "checkout", "sessions", session_id]:
                return self._get_session(session_id, request.query)
            case "POST", ["v1", "checkout", "sessions", session_id, "expire"]:
                return self._expire_session(session_id)
            case "GET", ["v1", "payment_intents", intent_id] if intent_id in self.intents:
                return 200, self.intents[intent_id]
            case "POST", ["v1", "refunds"]:
                return self._create_refund(request.form)
        return _error(404, "invalid_request_error", "resource_missing", f"No such {request.path}")

    def _create_session(self, form: dict[str, str]) -> dict[str, Any]:
        session_id = f"cs_test_{uuid.uuid4().hex[:24]}"
        quantity = int(form.get("line_items[0][quantity]", "1"))
        unit = int(form["line_items[0][price_data][unit_amount]"])
        session = {
            "id": session_id,
            "object": "checkout.session",
            "mode": form.get("mode"),
            "status": "open",
            "payment_status": "unpaid",
            "amount_total": unit * quantity,
            "currency": form["line_items[0][price_data][currency]"],
            "client_reference_id": form.get("client_reference_id"),
            "success_url": form.get("success_url"),
            "cancel_url": form.get("cancel_url"),
            "expires_at": int(form["expires_at"]),
            "metadata": _nested(form, "metadata"),
            "payment_intent_data_metadata": _nested(form, "payment_intent_data[metadata]"),
            "payment_intent": None,
            "url": f"https://checkout.stripe.com/c/pay/{session_id}",
        }
        self.sessions[session_id] = session
        return _public(session)

    def _get_session(self, session_id: str, query: dict[str, str]) -> Reply:
        if session_id not in self.sessions:
            return _error(404, "invalid_request_error", "resource_missing", "No such session")
        session = _public(self.sessions[session_id])
        expand = {v for k, v in query.items() if k.startswith("expand[")}
        if "payment_intent" in expand and session["payment_intent"]:
            session["payment_intent"] = self.intents[session["payment_intent"]]
        return 200, session

    def _expire_session(self, session_id: str) -> Reply:
        session = self.sessions.get(session_id)
        if session is None:
            return _error(404, "invalid_request_error", "resource_missing", "No such session")
        if session["status"] != "open":
            return _error(
                400,
                "invalid_request_error",
                None,
                f"This Checkout Session is {session['status']} and can no longer be expired.",
            )
        session["status"] = "expired"
        return 200, _public(session)

    def _create_refund(self, form: dict[str, str]) -> Reply:
        intent = self.intents.get(form.get("payment_intent", ""))
        if intent is None:
            return _error(404, "invalid_request_error", "resource_missing", "No such intent")
        refund_id = f"re_{uuid.uuid4().hex[:24]}"
        refund = {
            "id": refund_id,
            "object": "refund",
            "status": "succeeded",
            "amount": int(form.get("amount", intent["amount"])),
            "currency": intent["currency"],
            "payment_intent": intent["id"],
            "metadata": _nested(form, "metadata"),
        }
        self.refunds[refund_id] = refund
        return 200, refund


def _nested(form: dict[str, str], prefix: str) -> dict[str, str]:
    """``metadata[booking_id]=…`` form fields back into ``{"booking_id": …}``."""
    start = f"{prefix}["
    return {
        k[len(start) : -1]: v
        for k, v in form.items()
        if k.startswith(start) and "][" not in k[len(start) :]
    }


def _public(session: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in session.items() if k != "payment_intent_data_metadata"}


def _error(status: int, kind: str, code: str | None, message: str) -> Reply:
    return status, {"error": {"type": kind, "code": code, "message": message}}
