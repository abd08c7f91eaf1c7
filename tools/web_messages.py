"""Keep the web pages' translations in step: extract the strings, update the catalogs.

    python tools/web_messages.py extract   # writes src/eltiketi_app/web/translations/messages.pot
    python tools/web_messages.py update    # merges the template into every language's .po

Then translate the new or fuzzy entries in ``translations/<lang>/LC_MESSAGES/messages.po``.
The catalogs are compiled when the app starts (no ``.mo`` files are kept), and
``tests/unit/web/test_catalogs.py`` fails while a string of a template or page is
missing from a catalog or untranslated.
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import read_po, write_po

WEB = Path(__file__).resolve().parent.parent / "src" / "eltiketi_app" / "web"
TRANSLATIONS = WEB / "translations"
METHODS = [("templates/**.html", "jinja2.ext:babel_extract"), ("**.py", "python")]
OPTIONS = {"templates/**.html": {"extensions": "jinja2.ext.i18n", "trimmed": "false"}}
KEYWORDS = {**DEFAULT_KEYWORDS, "N_": None}


def extract() -> Catalog:
    """Every translatable string of the web package's templates and modules."""
    catalog = Catalog(project="eltiketi", charset="utf-8")
    for filename, lineno, message, comments, context in extract_from_dir(
        WEB, METHODS, options_map=OPTIONS, keywords=KEYWORDS
    ):
        catalog.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return catalog


def main(argv: list[str]) -> int:
    command = argv[1] if len(argv) > 1 else ""
    template = extract()
    if command == "extract":
        with (TRANSLATIONS / "messages.pot").open("wb") as out:
            write_po(out, template, omit_header=False, sort_output=True, width=100)
        print(f"{len(template)} messages")
        return 0
    if command == "update":
        for po_path in sorted(TRANSLATIONS.glob("*/LC_MESSAGES/messages.po")):
            language = po_path.parent.parent.name
            with po_path.open("rb") as source:
                catalog = read_po(source, locale=language)
            catalog.update(template, no_fuzzy_matching=True)
            with po_path.open("wb") as out:
                write_po(out, catalog, sort_output=True, width=100, ignore_obsolete=True)
            missing = [m.id for m in catalog if m.id and not m.string]
            print(f"{language}: {len(missing)} untranslated")
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
