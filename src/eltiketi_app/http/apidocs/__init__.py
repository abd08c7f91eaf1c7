"""The API docs page at ``/schema``: Swagger UI served from files shipped in the package.

Litestar's render plugins load their UI from CDNs, so ``/schema`` is a blank page
offline and the page needs third-party origins in its Content-Security-Policy.
:class:`LocalSwaggerUI` renders a page whose every script, style and icon is a
file of ``assets/`` (served under ``/schema/assets/``), started by a script file
rather than an inline one. Versions and licences: ``assets/README.md``.
"""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import Any

from litestar import Request, Router
from litestar.datastructures import CacheControlHeader
from litestar.openapi.plugins import OpenAPIRenderPlugin
from litestar.static_files import create_static_files_router

from eltiketi_app.http.security import PAGE_POLICY, page_policy

ASSETS = Path(__file__).parent / "assets"
ASSETS_PATH = "/assets"

#: Swagger UI sets inline ``style`` attributes; its scripts stay files from this origin.
DOCS_POLICY = PAGE_POLICY.extend(style_src=["'unsafe-inline'"])


class LocalSwaggerUI(OpenAPIRenderPlugin):
    """Swagger UI from the package's own files (no CDN), under the OpenAPI router's path."""

    def __init__(self, *, schema_path: str = "/schema", **kwargs: Any) -> None:
        super().__init__(path=["/swagger"], favicon="", style="", **kwargs)
        self._assets = schema_path.rstrip("/") + ASSETS_PATH
        self._document = schema_path.rstrip("/") + "/openapi.json"

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        title = escape(str(openapi_schema.get("info", {}).get("title", "API")))
        assets = self._assets
        page = f"""<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>{title} — API</title>
  <link rel="icon" type="image/png" href="{assets}/swagger-ui/favicon-32x32.png">
  <link rel="stylesheet" href="{assets}/swagger-ui/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui" data-spec-url="{escape(self._document)}"></div>
  <script src="{assets}/swagger-ui/swagger-ui-bundle.js"></script>
  <script src="{assets}/start-swagger-ui.js"></script>
</body>
</html>
"""
        return page.encode()

    def receive_router(self, router: Router) -> None:
        """Serve ``assets/`` next to the page; the page's handler gets the docs policy."""
        router.register(
            create_static_files_router(
                path=ASSETS_PATH,
                directories=[ASSETS],
                name="apidocs-assets",
                cache_control=CacheControlHeader(max_age=3600, public=True),
            )
        )
        for route in router.routes:
            for handler in getattr(route, "route_handlers", ()):
                if handler.media_type == self.media_type:
                    handler.opt.update(page_policy(DOCS_POLICY))
