"""The translations keep up with the pages: every string of a template or page module is in
every language's catalog, translated, with the same placeholders."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from eltiketi_app.web.i18n import DEFAULT_LANGUAGE, LANGUAGES, load_catalogs

ROOT = Path(__file__).resolve().parents[3]
TRANSLATIONS = ROOT / "src" / "eltiketi_app" / "web" / "translations"
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")


def _extracted() -> dict[str, object]:
    spec = importlib.util.spec_from_file_location(
        "web_messages", ROOT / "tools" / "web_messages.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return {(m.id[0] if isinstance(m.id, tuple) else m.id): m.id for m in module.extract() if m.id}


@pytest.mark.parametrize("language", [lang for lang in LANGUAGES if lang != DEFAULT_LANGUAGE])
def test_every_page_string_is_translated(language: str) -> None:
    with (TRANSLATIONS / language / "LC_MESSAGES" / "messages.po").open("rb") as source:
        catalog = read_po(source, locale=language)
    translated = {
        (m.id[0] if isinstance(m.id, tuple) else m.id): m
        for m in catalog
        if m.id and not m.fuzzy and all(m.string if isinstance(m.string, tuple) else [m.string])
    }

    missing = sorted(set(_extracted()) - set(translated))

    assert not missing, (
        f"{len(missing)} strings are not translated in {language} "
        f"(run tools/web_messages.py update, then translate): {missing[:10]}"
    )
    for key, message in translated.items():
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        for text in strings:
            assert set(PLACEHOLDER.findall(text)) <= set(PLACEHOLDER.findall(str(message.id))), key


def test_the_catalogs_compile_and_translate() -> None:
    catalogs = load_catalogs()

    assert catalogs["nl"].gettext("Reserve") == "Reserveren"
    assert catalogs["nl"].ngettext("%(num)d left", "%(num)d left", 3) == "nog %(num)d"
    assert catalogs["en"].gettext("Reserve") == "Reserve"
