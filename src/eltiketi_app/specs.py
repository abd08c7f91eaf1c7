"""Exported API documents (OpenAPI, AsyncAPI) that do not change with a library release.

Descriptions come from docstrings, and libraries differ in how they pass them on:
some dedent them, some keep the source indentation. A committed document is
compared with a freshly generated one in the test suite, so every description
is normalised with :func:`inspect.cleandoc` before the document is written,
whichever release of the generator ran.
"""

from __future__ import annotations

import inspect
import json
from typing import Any


def normalise_descriptions(node: Any) -> Any:
    """``node`` with every ``description`` string dedented (:func:`inspect.cleandoc`)
    and stripped of trailing blanks on each line."""
    if isinstance(node, dict):
        return {
            key: _clean(value)
            if key == "description" and isinstance(value, str)
            else normalise_descriptions(value)
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [normalise_descriptions(item) for item in node]
    return node


def _clean(text: str) -> str:
    return "\n".join(line.rstrip() for line in inspect.cleandoc(text).splitlines())


def stable_json(document: dict[str, Any]) -> str:
    """The document as committed: descriptions normalised, keys sorted, two-space indent."""
    return json.dumps(normalise_descriptions(document), indent=2, sort_keys=True) + "\n"
