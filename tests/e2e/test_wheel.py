"""The built wheel holds the product and nothing else: no benchmark, no tests.

Built the way a release is (``uv build``: the sdist, then the wheel from it).
"""

from __future__ import annotations

import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from tests.infra.requirement import require

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = {"eltiketi_core", "eltiketi_adapters", "eltiketi_app"}


@pytest.fixture(scope="module")
def wheel_files(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    uv = shutil.which("uv")
    if uv is None:
        require("uv", "the uv executable is not on PATH")
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [uv, "build", "--quiet", "--out-dir", str(out), str(ROOT)],
        check=True,
        timeout=300,
        capture_output=True,
    )
    (wheel,) = out.glob("eltiketi-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        return archive.namelist()


def test_the_wheel_holds_the_three_packages_and_its_metadata(wheel_files: list[str]) -> None:
    tops = {name.split("/")[0] for name in wheel_files}
    metadata = {top for top in tops if top.endswith(".dist-info")}
    assert len(metadata) == 1
    assert tops - metadata == PRODUCT


def test_the_wheel_holds_no_benchmark_code(wheel_files: list[str]) -> None:
    assert [name for name in wheel_files if "bench" in name.lower()] == []


def test_the_wheel_ships_the_api_docs_page_files(wheel_files: list[str]) -> None:
    """``/schema`` works offline from an installed wheel: its Swagger UI files are inside."""
    assets = "eltiketi_app/http/apidocs/assets/"
    for name in (
        "swagger-ui/swagger-ui-bundle.js",
        "swagger-ui/swagger-ui.css",
        "swagger-ui/LICENSE",
        "start-swagger-ui.js",
        "README.md",
    ):
        assert assets + name in wheel_files, name
