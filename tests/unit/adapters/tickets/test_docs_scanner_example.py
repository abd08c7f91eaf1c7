"""The offline scanner example in docs/tickets.md works as written."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest

from eltiketi_adapters.tickets import JoseTicketSigner, TicketKeySet
from eltiketi_core.domain.order import TicketClaims

DOC = Path(__file__).resolve().parents[4] / "docs" / "tickets.md"


def _scanner_example() -> str:
    section = DOC.read_text().split("## Verifying offline", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert match, "docs/tickets.md lost its scanner example"
    return match.group(1)


@pytest.fixture
def scanner(tmp_path: Path) -> dict[str, Any]:
    namespace: dict[str, Any] = {"__name__": "scanner_example"}
    exec(compile(_scanner_example(), str(DOC), "exec"), namespace)
    namespace["KEYS_FILE"] = tmp_path / "ticket-keys.json"
    return namespace


def test_scanner_accepts_current_and_retired_keys_and_refuses_the_rest(
    scanner: dict[str, Any],
) -> None:
    before = TicketKeySet.generate()
    after = before.rotate()
    event_id = uuid4()
    old = TicketClaims(ticket_id=uuid4(), event_id=event_id, ticket_type_id=uuid4())
    new = TicketClaims(ticket_id=uuid4(), event_id=event_id, ticket_type_id=uuid4())
    old_token = JoseTicketSigner(before).sign(old)
    new_token = JoseTicketSigner(after).sign(new)
    scanner["KEYS_FILE"].write_text(json.dumps(JoseTicketSigner(after).public_jwks()))
    keys = scanner["load_keys"]()
    check = scanner["check"]

    assert check(old_token, keys, event_id) == old.ticket_id
    assert check(new_token, keys, event_id) == new.ticket_id
    stranger = JoseTicketSigner(TicketKeySet.generate()).sign(old)
    header, _, signature = new_token.split(".")
    tampered = f"{header}.{old_token.split('.')[1]}.{signature}"
    for bad in (stranger, tampered, "x.y.z"):
        with pytest.raises(ValueError, match="not a genuine ticket"):
            check(bad, keys, event_id)
    with pytest.raises(ValueError, match="another event"):
        check(new_token, keys, uuid4())
