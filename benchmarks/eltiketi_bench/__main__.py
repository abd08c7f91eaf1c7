"""``python -m eltiketi_bench``: the same as ``eltiketi bench``."""

import sys

from eltiketi_bench.cli import main

sys.exit(main(prog="python -m eltiketi_bench"))
