"""schemathesis over the served OpenAPI document: no server error, nothing undocumented.

Every operation gets generated requests, valid and invalid (``mode = "all"``), sent
with the tokens of every role in turn (anonymous, customer, organizer, staff, admin). A stateful run follows the links schemathesis infers (an event's id
into its ticket types, a booking's id into its payment …) with an admin token.
Every answer must be no 5xx, a documented status, a body and ``Content-Type`` that
match the document; and, through the API suite's wrappers, a problem whose
``code`` the route lists.

The number of examples is bounded so the module runs in about a minute.
"""

from __future__ import annotations

import atexit
import itertools
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig

from eltiketi_adapters.devauth import DevTokenIssuer
from eltiketi_app.app import create_app
from eltiketi_app.settings import Settings
from tests.api.conftest import DocumentedAnswers, FiveHundredGuard

pytestmark = pytest.mark.slow

EXAMPLES = 25
STATEFUL_EXAMPLES = 40

CONFIG = SchemathesisConfig.from_str(
    f"""
[generation]
mode = "all"
max-examples = {EXAMPLES}
database = "none"
deterministic = true
# Query parameters the document does not name are ignored, as HTTP APIs do (cache
# busters, tracking tags); bodies, whose unknown members are refused, are still tested.
allow-extra-parameters = false

# A well-formed body that breaks a rule (an unknown timezone, a sold-out type) is a
# documented 422/409, not a schema violation: the check that wants every schema-valid
# request accepted does not fit an API with rules. Every other check stays on.
[checks.positive_data_acceptance]
enabled = false

# The stateful run walks resources that exist: valid requests only.
[phases.stateful.generation]
mode = "positive"
"""
)

DATA_DIR = Path(tempfile.mkdtemp(prefix="eltiketi-schemathesis-"))
atexit.register(shutil.rmtree, DATA_DIR, ignore_errors=True)
# Rate limits and the re-hold cool-down are off: they make an answer depend on how many
# requests came before, and hypothesis replays a stateful run expecting the same answers
# (FlakyStrategyDefinition otherwise). Both have tests of their own (test_rate_limits.py,
# test_abuse.py).
APP = create_app(
    Settings(
        data_dir=DATA_DIR,
        database_url="memory://",
        rate_limit_enabled=False,
        rehold_limit=0,
    ),
    background=True,
)
DOCUMENTED = DocumentedAnswers(APP.asgi_handler, APP)
GUARD = FiveHundredGuard(DOCUMENTED)
APP.asgi_handler = GUARD

ISSUER = DevTokenIssuer(DATA_DIR)
ROLES: dict[str, tuple[str, ...] | None] = {
    "anonymous": None,
    "customer": (),
    "organizer": ("organizer",),
    "staff": ("staff",),
    "admin": ("admin",),
}
TOKENS = {
    name: None
    if roles is None
    else ISSUER.mint(f"st-{name}", list(roles), email=f"st-{name}@example.com")
    for name, roles in ROLES.items()
}

schema = schemathesis.openapi.from_asgi("/schema/openapi.json", APP, config=CONFIG)


def headers_for(role: str) -> dict[str, str]:
    token = TOKENS[role]
    return {} if token is None else {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module", autouse=True)
def nothing_undocumented() -> Any:
    yield
    assert GUARD.seen == [], GUARD.seen
    assert DOCUMENTED.seen == [], DOCUMENTED.seen


#: Each generated request takes the next role's token, so every operation is called as
#: each of them (``@schema.given`` cannot be combined with the document's examples).
NEXT_ROLE = itertools.cycle(sorted(ROLES))


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_every_operation_for_every_role(case: Any) -> None:
    case.call_and_validate(headers=headers_for(next(NEXT_ROLE)))


class Statefully(schema.as_state_machine()):  # type: ignore[misc]
    """Links inferred from the document (an event's ``id`` into its ticket types, publish,
    stock, cancel …), called as an admin. Created events get a real timezone and euros,
    so the chain goes past the first step instead of stopping at ``invalid_timezone``."""

    def before_call(self, case: Any) -> None:
        body = case.body if isinstance(case.body, dict) else None
        if body is None:
            return
        if case.operation.path == "/v1/events" and case.method == "POST":
            body.update(timezone="Europe/Berlin", currency="EUR")
        if case.operation.path.endswith("/ticket-types") and isinstance(body.get("price"), dict):
            body["price"]["currency"] = "EUR"

    def get_call_kwargs(self, case: Any) -> dict[str, Any]:
        return {"headers": headers_for("admin")}


def test_linked_operations_statefully() -> None:
    Statefully.run(
        settings=settings(
            max_examples=STATEFUL_EXAMPLES,
            stateful_step_count=6,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
        )
    )
