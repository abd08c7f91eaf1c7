"""``docs/configuration.md``'s variable tables, generated from the declarations.

``python -m eltiketi_app.settings`` rewrites the part of the page between the two
markers below; ``--check`` only says whether it is current (the test suite runs
the same comparison), so the page cannot drift from the code.
"""

from __future__ import annotations

from pathlib import Path

from eltiketi_app.settings import Settings
from eltiketi_app.settings.declaration import Declared, iter_groups, shown

BEGIN = "<!-- BEGIN GENERATED: variables (python -m eltiketi_app.settings) -->"
END = "<!-- END GENERATED: variables -->"
PAGE = Path("docs/configuration.md")


def variables_markdown() -> str:
    """One table per group: variable, meaning, embedded default, production."""
    sections = []
    for group, members in iter_groups(Settings):
        rows = [
            "| variable | meaning | embedded default | production |",
            "| --- | --- | --- | --- |",
            *(_row(declared) for declared in members),
        ]
        sections.append(f"### {group.value}\n\n" + "\n".join(rows))
    return "\n\n".join(sections)


def render_page(page: str) -> str:
    """``page`` with the generated part replaced by the current tables."""
    head, rest = page.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{BEGIN}\n\n{variables_markdown()}\n\n{END}{tail}"


def _row(declared: Declared) -> str:
    var = declared.var
    default = var.embedded or (f"`{shown(declared.default)}`" if shown(declared.default) else "—")
    meaning = var.doc
    bounds = _bounds(declared)
    if bounds:
        meaning = f"{meaning} ({bounds})"
    return f"| `{declared.name}` | {_cell(meaning)} | {_cell(default)} | {_cell(var.production)} |"


def _bounds(declared: Declared) -> str:
    var = declared.var
    parts = []
    if var.ge is not None:
        parts.append(f"≥ {var.ge:g}")
    if var.gt is not None:
        parts.append(f"> {var.gt:g}")
    if var.le is not None:
        parts.append(f"≤ {var.le:g}")
    return ", ".join(parts)


def _cell(text: str) -> str:
    return text.replace("|", "\\|")
