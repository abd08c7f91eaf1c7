"""Check-in at the door: staff scan a ticket token; each ticket admits once."""

from __future__ import annotations

from dishka.integrations.litestar import FromDishka, inject
from litestar import Router, post
from litestar.params import JSONBody

from eltiketi_app.http.auth import BEARER, requires
from eltiketi_app.http.openapi import can_answer
from eltiketi_app.http.problem_catalog import WRITES
from eltiketi_app.http.schemas import AdmissionOut, CheckInIn, admission_out
from eltiketi_core.domain.identity import Principal, Role
from eltiketi_core.usecases import Ticketing


@can_answer("invalid_ticket", "already_checked_in", "ticket_void", "wrong_event", *WRITES)
@post(
    "/",
    status_code=200,
    summary="Admit a ticket (staff)",
    guards=[requires(Role.STAFF)],
    description="200 with who, what and when on the first scan; 409 `already_checked_in` "
    "(with `first_checked_in_at`); 410 `ticket_void`; 422 `wrong_event`; 400 `invalid_ticket`.",
)
@inject
async def check_in(
    data: JSONBody[CheckInIn], ticketing: FromDishka[Ticketing], principal: FromDishka[Principal]
) -> AdmissionOut:
    admission = await ticketing.checkins.check_in(principal, data.token, data.event_id)
    return admission_out(admission)


router = Router(path="/v1/check-ins", security=BEARER, tags=["check-in"], route_handlers=[check_in])
