"""``limit`` and ``offset`` of the list routes, bounded so no page request can overflow a query."""

from __future__ import annotations

from typing import Annotated

from litestar.params import Parameter

from eltiketi_app.http.schemas import MAX_OFFSET, MAX_PAGE

Limit = Annotated[int, Parameter(ge=1, le=MAX_PAGE, description="page size")]
Offset = Annotated[int, Parameter(ge=0, le=MAX_OFFSET, description="items to skip")]
