"""``python -m eltiketi_app.settings [--check] [PAGE]``: regenerate the variable tables."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from eltiketi_app.settings.reference import PAGE, render_page


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("page", nargs="?", type=Path, default=PAGE)
    parser.add_argument("--check", action="store_true", help="only say whether it is current")
    args = parser.parse_args(argv)
    current = args.page.read_text(encoding="utf-8")
    wanted = render_page(current)
    if args.check:
        if current != wanted:
            print(f"{args.page} is stale: run python -m eltiketi_app.settings", file=sys.stderr)
            return 1
        return 0
    args.page.write_text(wanted, encoding="utf-8")
    print(f"wrote {args.page}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
