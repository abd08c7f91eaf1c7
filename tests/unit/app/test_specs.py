"""Exported documents do not depend on how a generator passes docstrings on."""

from __future__ import annotations

import json

from eltiketi_app.specs import normalise_descriptions, stable_json

INDENTED = "A message.\n\n    Attributes:\n        key: its key.\n    "
DEDENTED = "A message.\n\nAttributes:\n    key: its key."


def test_an_indented_and_a_dedented_docstring_give_the_same_description() -> None:
    as_kept = {"components": {"schemas": {"M": {"description": INDENTED}}}}
    as_dedented = {"components": {"schemas": {"M": {"description": DEDENTED}}}}
    assert stable_json(as_kept) == stable_json(as_dedented)
    assert json.loads(stable_json(as_kept))["components"]["schemas"]["M"] == {
        "description": DEDENTED
    }


def test_descriptions_inside_lists_are_normalised_and_other_strings_are_kept() -> None:
    document = {"tags": [{"name": "  spaced  ", "description": "  one line  "}], "n": 3}
    assert normalise_descriptions(document) == {
        "tags": [{"name": "  spaced  ", "description": "one line"}],
        "n": 3,
    }


def test_a_property_named_description_is_not_mistaken_for_text() -> None:
    schema = {"properties": {"description": {"type": "string", "description": " text "}}}
    assert normalise_descriptions(schema) == {
        "properties": {"description": {"type": "string", "description": "text"}}
    }
