"""``GET /v1/jobs/{id}``: how far a background job (an event's cancellation) has got.

A job is a resource of its own, the status monitor of the ``202 Accepted`` that
started it (its ``Location``): clients poll one URL whatever the kind of work,
and later long operations get the same shape.
"""

from __future__ import annotations

from uuid import UUID

from dishka.integrations.litestar import FromDishka, inject
from litestar import Router, get
from litestar.params import FromPath

from eltiketi_app.http.auth import BEARER, authenticated
from eltiketi_app.http.openapi import can_answer
from eltiketi_app.http.problem_catalog import STORAGE
from eltiketi_app.http.schemas import JobOut, job_out
from eltiketi_core.domain.identity import Principal
from eltiketi_core.usecases.jobs import Jobs


@can_answer("job_not_found", "missing_role", *STORAGE)
@get(
    "/{job_id:uuid}",
    summary="A background job and its progress (owner or manager of its event)",
    description="`status` is `queued`, `running`, `done` or `failed`; `orders_refunded` "
    "and `holds_released` count what is done, `orders_remaining` what is left (exact once "
    "`done`). A job of an event outside your organizations answers 404 `job_not_found`; "
    "a door member gets 403 `missing_role`.",
    guards=[authenticated],
    security=BEARER,
)
@inject
async def get_job(
    job_id: FromPath[UUID], jobs: FromDishka[Jobs], principal: FromDishka[Principal]
) -> JobOut:
    return job_out(await jobs.get(principal, job_id))


router = Router(path="/v1/jobs", tags=["jobs"], route_handlers=[get_job])
