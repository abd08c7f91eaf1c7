"""The ``eltiketi`` command line, run in-process (``main(argv)``)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from uuid import uuid4

import pytest

from eltiketi_adapters.devauth import DevTokenIssuer
from eltiketi_app.cli import main


@pytest.fixture(autouse=True)
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("ELTIKETI_MODE", "ELTIKETI_OIDC_ISSUER", "ELTIKETI_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ELTIKETI_DATA_DIR", str(tmp_path))
    return tmp_path


async def test_dev_token_prints_the_token_alone(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = main(
        [
            "dev-token",
            "--sub",
            "alice",
            "--role",
            "organizer",
            "--role",
            "staff",
            "--email",
            "a@x.io",
        ]
    )

    out = capsys.readouterr().out
    assert status == 0
    assert out.endswith("\n")
    assert out.count("\n") == 1
    token = out.strip()
    assert token.count(".") == 2
    principal = await DevTokenIssuer(data_dir).verifier().verify(token)
    assert principal.subject == "alice"
    assert principal.roles == frozenset({"organizer", "staff"})
    assert principal.email == "a@x.io"


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("ELTIKETI_OIDC_ISSUER", "https://sso.example.com/realms/x"),
        ("ELTIKETI_MODE", "production"),
    ],
)
def test_dev_token_is_refused_outside_embedded_dev_auth(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    monkeypatch.setenv("ELTIKETI_OIDC_AUDIENCE", "api")

    status = main(["dev-token", "--sub", "mallory"])

    captured = capsys.readouterr()
    assert status == 2
    assert captured.out == ""
    assert "ELTIKETI_" in captured.err


@pytest.mark.parametrize(("flags", "verified"), [((), True), (("--email-unverified",), False)])
def test_a_dev_tokens_email_is_verified_unless_told_otherwise(
    data_dir: Path, capsys: pytest.CaptureFixture[str], flags: tuple[str, ...], verified: bool
) -> None:
    status = main(["dev-token", "--sub", "dora", "--email", "dora@example.org", *flags])

    assert status == 0
    token = capsys.readouterr().out.strip()
    principal = asyncio.run(DevTokenIssuer(data_dir).verifier().verify(token))
    assert (principal.email, principal.email_verified) == ("dora@example.org", verified)


def test_member_needs_a_database_not_memory(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ELTIKETI_DATABASE_URL", "memory://")

    status = main(["dev-token", "--sub", "dora", "--member", f"{uuid4()}:door"])

    captured = capsys.readouterr()
    assert status == 2
    assert captured.out == ""
    assert "POST /dev/token" in captured.err


def test_an_unknown_role_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["dev-token", "--sub", "x", "--role", "organiser"])

    assert caught.value.code == 2
    assert capsys.readouterr().out == ""


def test_workers_need_kafka(capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["worker", "inventory"])

    assert status == 2
    assert "ELTIKETI_KAFKA_BOOTSTRAP" in capsys.readouterr().err


def test_bad_configuration_is_reported_with_the_variable(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ELTIKETI_HOLD_TTL_SECONDS", "soon")

    status = main(["dev-token", "--sub", "x"])

    assert status == 2
    assert "ELTIKETI_HOLD_TTL_SECONDS" in capsys.readouterr().err


def test_db_upgrade_then_downgrade_the_embedded_database(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["db", "upgrade"]) == 0
    upgraded = capsys.readouterr().err
    assert (data_dir / "eltiketi.db").exists()
    assert "at nothing (empty)" in upgraded
    assert "done: at " in upgraded

    assert main(["db", "downgrade", "base"]) == 0
    assert "done: at nothing (empty)" in capsys.readouterr().err


def test_db_refuses_the_memory_database(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ELTIKETI_DATABASE_URL", "memory://")

    assert main(["db", "upgrade"]) == 2
    assert "memory://" in capsys.readouterr().err


def test_openapi_writes_the_document(tmp_path: Path) -> None:
    target = tmp_path / "out" / "openapi.json"

    assert main(["openapi", "--output", str(target)]) == 0

    document = json.loads(target.read_text())
    assert document["info"]["title"] == "elTiketi"
    assert "/v1/bookings" in document["paths"]


def test_no_command_prints_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "serve" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "env_host"),
    [(["serve", "--host", "0.0.0.0"], None), (["serve"], "192.0.2.10")],
)
def test_embedded_mode_refuses_a_remote_address_without_allow_remote(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    env_host: str | None,
) -> None:
    if env_host is not None:
        monkeypatch.setenv("ELTIKETI_HOST", env_host)
    else:
        monkeypatch.delenv("ELTIKETI_HOST", raising=False)

    status = main([*argv, "--port", "0"])

    captured = capsys.readouterr()
    assert status == 2
    assert "--allow-remote" in captured.err
    assert "/dev/token" in captured.err
    assert "elTiketi (embedded) on" not in captured.err  # it never started


def test_allow_remote_or_production_lift_the_refusal() -> None:
    from eltiketi_app.cli import exposure_refusal
    from eltiketi_app.settings import Mode, Settings

    exposed = Settings(host="0.0.0.0")
    assert exposure_refusal(exposed, allow_remote=False) is not None
    assert exposure_refusal(exposed, allow_remote=True) is None
    assert exposure_refusal(Settings(host="127.0.0.1"), allow_remote=False) is None
    production = Settings(host="0.0.0.0", mode=Mode.PRODUCTION)
    assert exposure_refusal(production, allow_remote=False) is None
