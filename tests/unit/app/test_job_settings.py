"""The background-job settings: parsed, validated, and passed to the core and the loops."""

from __future__ import annotations

from datetime import timedelta

import pytest

from eltiketi_app.background.roles import VARIABLES, Role, parse_roles
from eltiketi_app.background.runner import Intervals
from eltiketi_app.settings import Settings, SettingsError
from eltiketi_core.usecases.policy import Policy


def test_unset_job_variables_are_the_core_s_defaults() -> None:
    settings = Settings.from_env({})
    policy = settings.policy()
    defaults = Policy()

    assert (
        (policy.job_batch_size, policy.job_lease, policy.job_max_failures)
        == (
            defaults.job_batch_size,
            defaults.job_lease,
            defaults.job_max_failures,
        )
        == (100, timedelta(seconds=30), 5)
    )
    assert Intervals.from_settings(settings).jobs == 1.0
    assert VARIABLES["ELTIKETI_JOB_INTERVAL_SECONDS"][1] == "1"


def test_job_variables_reach_the_policy_and_the_job_loop() -> None:
    settings = Settings.from_env(
        {
            "ELTIKETI_JOB_BATCH_SIZE": "25",
            "ELTIKETI_JOB_LEASE_SECONDS": "12.5",
            "ELTIKETI_JOB_INTERVAL_SECONDS": "0.2",
            "ELTIKETI_JOB_MAX_FAILURES": "9",
        }
    )
    policy = settings.policy()

    assert policy.job_batch_size == 25
    assert policy.job_lease == timedelta(seconds=12.5)
    assert policy.job_max_failures == 9
    assert Intervals.from_settings(settings).jobs == 0.2


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("ELTIKETI_JOB_BATCH_SIZE", "0"),
        ("ELTIKETI_JOB_BATCH_SIZE", "10001"),
        ("ELTIKETI_JOB_BATCH_SIZE", "many"),
        ("ELTIKETI_JOB_LEASE_SECONDS", "0.5"),
        ("ELTIKETI_JOB_INTERVAL_SECONDS", "0"),
        ("ELTIKETI_JOB_MAX_FAILURES", "0"),
    ],
)
def test_a_bad_job_value_names_its_variable(name: str, value: str) -> None:
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({name: value})

    assert [problem for problem in caught.value.problems if problem.startswith(name + ":")]


def test_the_jobs_role_is_part_of_all_and_needs_no_kafka() -> None:
    from eltiketi_app.background.config import worker_config
    from eltiketi_app.background.roles import KAFKA_ROLES
    from eltiketi_app.background.worker import check_roles

    assert Role.JOBS in parse_roles(["all"])
    assert parse_roles(["jobs"]) == [Role.JOBS]
    assert Role.JOBS not in KAFKA_ROLES
    settings = Settings(database_url="sqlite+aiosqlite:///x.db")
    check_roles([Role.JOBS], settings, worker_config(settings))  # no Kafka: still fine
