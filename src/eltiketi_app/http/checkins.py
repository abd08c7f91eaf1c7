"""Check-in at the door: members of the event's organization scan a ticket; each admits once."""

from __future__ import annotations

from dishka.integrations.litestar import FromDishka, inject
from litestar import Router, post
from litestar.params import JSONBody

from eltiketi_app.http.auth import BEARER, authenticated
from eltiketi_app.http.openapi import can_answer
from eltiketi_app.http.problem_catalog import WRITES
from eltiketi_app.http.schemas import AdmissionOut, CheckInIn, admission_out
from eltiketi_core.domain.identity import Principal
from eltiketi_core.usecases.checkin import CheckIns


@can_answer(
    "event_not_found",
    "invalid_ticket",
    "already_checked_in",
    "ticket_void",
    "wrong_event",
    *WRITES,
)
@post(
    "/",
    status_code=200,
    summary="Admit a ticket (door, manager or owner of the event's organization)",
    guards=[authenticated],
    description="`event_id` (required) is the event this scanner works for. 200 with who, "
    "what and when on the first scan; 409 `already_checked_in` (with `first_checked_in_at`); "
    "410 `ticket_void`; 422 `wrong_event` (a ticket of another event); 400 `invalid_ticket`; "
    "404 `event_not_found` when the event is not one of your organizations' (the realm role "
    "`staff` alone admits no one).",
)
@inject
async def check_in(
    data: JSONBody[CheckInIn], checkins: FromDishka[CheckIns], principal: FromDishka[Principal]
) -> AdmissionOut:
    admission = await checkins.check_in(principal, data.token, data.event_id)
    return admission_out(admission)


router = Router(path="/v1/check-ins", security=BEARER, tags=["check-in"], route_handlers=[check_in])
