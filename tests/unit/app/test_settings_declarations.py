"""Every ``ELTIKETI_*`` variable is declared once, and everything else follows from it."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from eltiketi_app.background.roles import VARIABLES
from eltiketi_app.settings import Settings, SettingsError, default_of
from eltiketi_app.settings.declaration import Declared, Secret, declarations, shown
from eltiketi_app.settings.reference import PAGE, render_page

ROOT = Path(__file__).resolve().parents[3]
DECLARED = declarations(Settings)


def test_every_field_of_the_settings_is_a_declared_variable() -> None:
    fields = [field.name for field in msgspec.structs.fields(Settings)]

    assert [declared.field for declared in DECLARED] == fields
    assert all(declared.var.doc.strip() for declared in DECLARED)


def test_the_configuration_page_shows_the_current_declarations() -> None:
    page = (ROOT / PAGE).read_text(encoding="utf-8")

    assert page == render_page(page), (
        "docs/configuration.md is stale: run python -m eltiketi_app.settings"
    )
    for declared in DECLARED:
        assert f"| `{declared.name}` |" in page


@pytest.mark.parametrize(
    "declared", [d for d in DECLARED if shown(d.default)], ids=lambda d: d.name
)
def test_each_variable_set_to_its_shown_default_changes_nothing(declared: Declared) -> None:
    assert Settings.from_env({declared.name: shown(declared.default)}) == Settings()


@pytest.mark.parametrize(
    "declared", [d for d in DECLARED if d.kind in (int, float)], ids=lambda d: d.name
)
def test_each_number_refuses_text_naming_its_variable(declared: Declared) -> None:
    what = "a whole number" if declared.kind is int else "a number"
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({declared.name: "lots"})
    assert caught.value.problems == [f"{declared.name}: 'lots' is not {what}"]


def test_bounds_come_from_the_declaration() -> None:
    with pytest.raises(SettingsError) as caught:
        Settings.from_env(
            {
                "ELTIKETI_DATABASE_POOL_SIZE": "0",
                "ELTIKETI_KAFKA_CONCURRENCY": "1001",
                "ELTIKETI_NOTIFICATION_RETRY_INTERVAL_SECONDS": "0",
            }
        )
    assert caught.value.problems == [
        "ELTIKETI_DATABASE_POOL_SIZE: 0 is below the minimum 1",
        "ELTIKETI_KAFKA_CONCURRENCY: 1001 is above the maximum 1000",
        "ELTIKETI_NOTIFICATION_RETRY_INTERVAL_SECONDS: 0 must be above 0",
    ]


def test_every_secret_is_masked_in_the_start_up_view() -> None:
    secrets = {
        d.field: (
            "postgresql://u:hunter2@db/x" if d.var.secret is Secret.URL_PASSWORD else "hunter2"
        )
        for d in DECLARED
        if d.var.secret is not Secret.NONE
    }
    secrets["sms_url"] = "https://u:hunter2@sms.example.com"
    secrets["smtp_url"] = "smtp://u:hunter2@mail.example.com"
    settings = msgspec.structs.replace(Settings(), **secrets)

    assert set(secrets) >= {"stripe_api_key", "oidc_client_secret", "database_url", "ticket_keys"}
    assert "hunter2" not in str(settings.redacted())


def test_worker_help_lists_the_tuning_declarations_with_their_defaults() -> None:
    assert VARIABLES["ELTIKETI_KAFKA_CONCURRENCY"][1] == str(default_of("kafka_concurrency"))
    assert "ELTIKETI_KAFKA_BOOTSTRAP" not in VARIABLES
    assert "ELTIKETI_HOLD_TTL_SECONDS" not in VARIABLES
