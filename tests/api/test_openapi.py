"""The OpenAPI document tells the truth, and its docs page works offline.

* Every error response is the one problem-details schema (``application/problem+json``),
  with the codes the route can answer; Litestar's default 400 body is gone.
* ``POST /v1/orders`` documents 200 and 201, ``GET /v1/tickets/keys`` a JWK set, the QR
  routes their image types.
* ``/schema`` loads only files the server itself serves.
* ``docs/rest.md`` lists exactly the catalogue's codes, and every code the source
  raises is in the catalogue (or is one that never reaches HTTP, named here).
"""

from __future__ import annotations

import ast
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from eltiketi_app.http.problem_catalog import CATALOG
from eltiketi_core import errors
from tests.api.conftest import Api

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ROOT / "src"
REST_DOC = ROOT / "docs" / "rest.md"
PROBLEM = "application/problem+json"


@pytest.fixture
async def document(api: Api) -> dict[str, Any]:
    answer = await api.client.get("/schema/openapi.json")
    assert answer.status_code == 200
    return dict(answer.json())


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
    ]


def codes_of(operation: dict[str, Any], status: int) -> set[str]:
    response = operation["responses"][str(status)]
    return set(response["content"][PROBLEM]["examples"])


def test_every_error_response_is_a_problem(document: dict[str, Any]) -> None:
    assert document["components"]["schemas"]["Problem"]["required"] == sorted(
        ["type", "title", "status", "detail", "code"]
    )
    for method, path, operation in operations(document):
        for status, response in operation["responses"].items():
            if int(status) < 400:
                continue
            where = f"{method} {path} {status}"
            assert list(response["content"]) == [PROBLEM], where
            media = response["content"][PROBLEM]
            assert media["schema"] == {"$ref": "#/components/schemas/Problem"}, where
            assert media["examples"], where
            for code, example in media["examples"].items():
                assert set(example) == {"summary", "value"}, where
                assert example["value"]["code"] == code
                assert example["value"]["status"] == int(status)
                assert f"`{code}`" in response["description"], where
    assert '"status_code"' not in str(document).replace("'", '"')


def test_routes_list_the_codes_they_answer(document: dict[str, Any]) -> None:
    paths = document["paths"]
    booking = paths["/v1/bookings"]["post"]
    assert {"sold_out"} <= codes_of(booking, 409)
    assert {"missing_token", "token_expired", "wrong_issuer"} <= codes_of(booking, 401)
    assert codes_of(booking, 415) == {"unsupported_media_type"}
    assert codes_of(booking, 413) == {"request_too_large"}
    assert {"malformed_request"} == codes_of(booking, 400)
    assert {"quantity_above_limit", "buyer_limit_exceeded"} <= codes_of(booking, 422)
    ticket_types = paths["/v1/events/{event_id}/ticket-types"]["post"]
    assert codes_of(ticket_types, 403) == {"missing_role"}
    assert "event_not_found" in codes_of(ticket_types, 404)
    assert codes_of(paths["/v1/orders"]["get"], 400) == {"malformed_request"}
    confirm = paths["/v1/orders"]["post"]
    assert codes_of(confirm, 402) == {"payment_incomplete"}
    assert {"payment_mismatch", "hold_lost_refunded"} <= codes_of(confirm, 409)
    assert codes_of(paths["/v1/check-ins"]["post"], 410) == {"ticket_void"}
    keys = paths["/v1/tickets/keys"]["get"]
    assert [status for status in keys["responses"] if int(status) >= 400] == []
    assert "400" not in paths["/v1/bookings/{booking_id}"]["get"]["responses"]


def test_confirming_documents_both_successes(document: dict[str, Any]) -> None:
    responses = document["paths"]["/v1/orders"]["post"]["responses"]
    order = {"$ref": "#/components/schemas/OrderOut"}

    assert responses["201"]["content"]["application/json"]["schema"] == order
    assert responses["200"]["content"]["application/json"]["schema"] == order


def test_keys_and_qr_codes_have_their_types(document: dict[str, Any]) -> None:
    paths = document["paths"]
    keys = paths["/v1/tickets/keys"]["get"]["responses"]["200"]["content"]
    assert keys["application/jwk-set+json"]["schema"] == {"$ref": "#/components/schemas/JwkSetOut"}
    jwk = document["components"]["schemas"]["JwkOut"]
    assert {"kty", "kid"} <= set(jwk["required"])
    assert {"crv", "x", "use", "alg"} <= set(jwk["properties"])
    for suffix, media in (("png", "image/png"), ("svg", "image/svg+xml")):
        content = paths[f"/v1/tickets/{{ticket_id}}/qr.{suffix}"]["get"]["responses"]["200"]
        assert list(content["content"]) == [media]
        assert content["content"][media]["schema"]["contentMediaType"] == media


async def test_the_keys_answer_is_the_documented_set(api: Api) -> None:
    answer = await api.client.get("/v1/tickets/keys")

    assert answer.headers["content-type"].startswith("application/jwk-set+json")
    keys = answer.json()["keys"]
    assert keys and all(key["kty"] == "OKP" and key["crv"] == "Ed25519" for key in keys)
    assert all(set(key) <= {"kty", "kid", "crv", "x", "use", "alg"} for key in keys)


# --- the docs page ------------------------------------------------------------------------


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.inline_scripts = 0
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "script":
            if found.get("src"):
                self.urls.append(str(found["src"]))
            else:
                self._in_script = True
        if tag == "link" and found.get("href"):
            self.urls.append(str(found["href"]))
        if tag == "img" and found.get("src"):
            self.urls.append(str(found["src"]))

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline_scripts += 1


@pytest.mark.parametrize("page", ["/schema", "/schema/swagger"])
async def test_the_docs_page_loads_only_local_files(api: Api, page: str) -> None:
    answer = await api.client.get(page)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/html")
    links = _Links()
    links.feed(answer.text)

    assert links.inline_scripts == 0
    assert len(links.urls) >= 3
    for url in links.urls:
        assert url.startswith("/") and not url.startswith("//"), url
        asset = await api.client.get(url)
        assert asset.status_code == 200, url
        if url.endswith(".css"):
            assert re.search(r"url\(\s*['\"]?(?:https?:)?//", asset.text) is None, url
            assert "@import" not in asset.text, url
        if url.endswith(".js"):
            assert "javascript" in asset.headers["content-type"], url
    spec_url = re.search(r'data-spec-url="([^"]+)"', answer.text)
    assert spec_url is not None
    assert (await api.client.get(spec_url.group(1))).json()["openapi"].startswith("3.")
    policy = answer.headers["content-security-policy"]
    assert "script-src 'self';" in policy
    assert "http" not in policy


def test_the_vendored_files_are_the_ones_the_readme_names() -> None:
    import hashlib

    assets = SOURCES / "eltiketi_app" / "http" / "apidocs" / "assets"
    readme = (assets / "README.md").read_text()
    listed = re.findall(r"^([0-9a-f]{64})  (\S+)$", readme, flags=re.MULTILINE)
    assert len(listed) == 6
    for digest, name in listed:
        assert hashlib.sha256((assets / name).read_bytes()).hexdigest() == digest, name


# --- docs/rest.md and the source -----------------------------------------------------------

#: Codes the source raises that never reach an HTTP answer, and why.
NOT_ANSWERED_OVER_HTTP = {
    # Kafka workers and the dead-letter command line
    "malformed_event": "kafka envelope decoding, in workers",
    "malformed_envelope": "kafka envelope decoding, in workers",
    "malformed_dead_letter": "the dead-letter command",
    "unknown_dead_letter": "the dead-letter command",
    "nothing_selected": "the dead-letter command",
    "kafka_topic_refused": "topic creation at worker start",
    "unroutable_event": "the relay, in workers",
    "event_bus_unavailable": "the relay, in workers",
    # notifications are sent by the relay's handlers and the retry loop, never in a request
    "invalid_email": "notification channels",
    "invalid_phone": "notification channels",
    "notification_write_failed": "notification channels",
    "smtp_rejected": "notification channels",
    "smtp_unavailable": "notification channels",
    "sms_rejected": "notification channels",
    "sms_unavailable": "notification channels",
    # refunds run through the outbox, in the background
    "refund_amount_not_positive": "refund executor",
    "refund_amount_too_large": "refund executor",
    "refund_currency_mismatch": "refund executor",
    "refund_exceeds_payment": "refund executor",
    "refund_failed": "refund executor",
    "invalid_refund_amount": "refund executor",
    "payment_not_captured": "refund executor",
    "payment_not_succeeded": "refund executor",
    "card_error": "Stripe card errors arise when confirming a card, which the server never does",
    # start-up
    "unsupported_database_url": "settings, at start-up",
    # the pages' sign-in at the OIDC issuer answers pages, not problems
    "login_refused": "the web pages' OIDC login (an HTML page)",
    # the families' defaults: every raise names its own code
    "domain_error": "DomainError's default",
    "validation_failed": "ValidationFailed's default",
    "conflict": "Conflict's default",
    "forbidden": "Forbidden's default",
}

#: Calls whose first argument is not a literal code (file, argument), and their codes.
DYNAMIC_CODES: dict[tuple[str, str], set[str]] = {
    ("eltiketi_core/usecases/access.py", "f'{what}_not_found'"): {
        "booking_not_found",
        "order_not_found",
        "ticket_not_found",
    },
    ("eltiketi_adapters/notify/smtp.py", "'smtp_rejected' if permanent else 'smtp_unavailable'"): {
        "smtp_rejected",
        "smtp_unavailable",
    },
    (
        "eltiketi_adapters/notify/http_sms.py",
        "'sms_unavailable' if retryable else 'sms_rejected'",
    ): {
        "sms_unavailable",
        "sms_rejected",
    },
    ("eltiketi_adapters/stripe/errors.py", "stripe_code or 'card_error'"): {"card_error"},
    ("eltiketi_adapters/stripe/errors.py", "code"): {"stripe_<code>", "stripe_refused"},
    # the helper itself: its callers' codes are read at their call sites
    ("eltiketi_adapters/oidc/errors.py", "code"): set(),
}


def _rest_doc_codes() -> set[tuple[int, str]]:
    section = REST_DOC.read_text().split("## Errors", 1)[1]
    pairs: set[tuple[int, str]] = set()
    for line in section.splitlines():
        row = re.match(r"^\|\s*(\d{3})\s*\|([^|]*)\|", line)
        if row:
            for code in re.findall(r"`([^`]+)`", row.group(2)):
                pairs.add((int(row.group(1)), code))
    return pairs


def test_rest_md_lists_exactly_the_catalogue() -> None:
    catalogue = {(entry.status, entry.code) for entry in CATALOG.values()}
    documented = _rest_doc_codes()

    assert catalogue - documented == set(), "in the catalogue, missing from docs/rest.md"
    assert documented - catalogue == set(), "in docs/rest.md, missing from the catalogue"


def _raised_codes() -> dict[str, str]:
    families = {
        name
        for name, value in vars(errors).items()
        if isinstance(value, type) and issubclass(value, errors.DomainError)
    }
    makers = families | {"refused", "issuer_unavailable"}
    trees = {path: ast.parse(path.read_text()) for path in SOURCES.rglob("*.py")}
    constants: dict[str, set[str]] = {}
    for tree in trees.values():
        for node in tree.body:  # module-level constants only
            target = node.target if isinstance(node, ast.AnnAssign) else None
            if isinstance(node, ast.Assign) and len(node.targets) == 1:
                target = node.targets[0]
            value = getattr(node, "value", None)
            if (
                isinstance(target, ast.Name)
                and isinstance(value, ast.Constant)
                and isinstance(value.value, str)
            ):
                constants.setdefault(target.id, set()).add(value.value)
    found: dict[str, str] = {}
    unresolved: list[str] = []
    for path, tree in trees.items():
        where = str(path.relative_to(SOURCES))
        for node in ast.walk(tree):
            targets = node.targets if isinstance(node, ast.Assign) else []
            if isinstance(node, ast.AnnAssign):
                targets = [node.target]
            if any(isinstance(t, ast.Name) and t.id == "default_code" for t in targets):
                value = getattr(node, "value", None)
                assert isinstance(value, ast.Constant)
                found.setdefault(str(value.value), where)
            if not isinstance(node, ast.Call) or not node.args:
                continue
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
            if name not in makers:
                continue
            first = node.args[0]
            dynamic = (where, ast.unparse(first))
            if name == "issuer_unavailable":  # its argument is the detail; the code is fixed
                codes = constants["ISSUER_UNAVAILABLE"]
            elif dynamic in DYNAMIC_CODES:
                codes = DYNAMIC_CODES[dynamic]
            elif isinstance(first, ast.Constant) and isinstance(first.value, str):
                codes = {first.value}
            elif isinstance(first, ast.Name) and first.id in constants:
                codes = constants[first.id]
            else:
                unresolved.append(f"{where}:{node.lineno} {ast.unparse(first)}")
                continue
            for code in codes:
                found.setdefault(code, f"{where}:{node.lineno}")
    assert unresolved == [], "codes this test cannot read; add them to DYNAMIC_CODES"
    return found


def test_every_code_the_source_raises_is_documented() -> None:
    raised = _raised_codes()
    assert len(raised) > 60  # the scan sees the source

    missing = {
        code: where
        for code, where in raised.items()
        if code not in CATALOG and code not in NOT_ANSWERED_OVER_HTTP
    }
    assert missing == {}, "raise sites whose code is neither in the catalogue nor excused"
    stale = set(NOT_ANSWERED_OVER_HTTP) - set(raised)
    assert stale == set(), "excused codes nobody raises any more"


def test_the_codes_seen_missing_are_documented() -> None:
    for code in ("request_too_large", "invalid_token_request", "unsupported_media_type"):
        assert code in CATALOG
        assert any(documented == code for _, documented in _rest_doc_codes())
