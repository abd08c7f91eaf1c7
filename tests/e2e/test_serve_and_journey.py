"""End to end: the README's run command starts a server that examples/journey.py completes.

The server is ``eltiketi serve --demo`` as a subprocess on a free port, in a
fresh folder with no ``ELTIKETI_*`` variables: embedded defaults, so its state
lands in ``./.eltiketi`` of that folder, as it would in a fresh clone.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
JOURNEY = ROOT / "examples" / "journey.py"
START_TIMEOUT = 60.0


def eltiketi(*args: str) -> list[str]:
    """The ``eltiketi`` script of this interpreter's environment (as the README runs it)."""
    script = Path(sys.executable).with_name("eltiketi")
    if script.exists():
        return [str(script), *args]
    return [sys.executable, "-m", "eltiketi_app.cli", *args]


def clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ELTIKETI_")}
    env["PYTHONUNBUFFERED"] = "1"
    return env


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Server:
    process: subprocess.Popen[str]
    base_url: str
    folder: Path
    stdout: Path
    stderr: Path

    @property
    def data_dir(self) -> Path:
        return self.folder / ".eltiketi"

    def logs(self) -> str:
        return self.stdout.read_text() + "\n--- stderr ---\n" + self.stderr.read_text()[-5000:]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("fresh-clone")
    port = free_port()
    stdout, stderr = folder / "serve.out", folder / "serve.err"
    with stdout.open("w") as out, stderr.open("w") as err:
        process = subprocess.Popen(
            eltiketi("serve", "--demo", "--port", str(port)),
            cwd=folder,
            env=clean_env(),
            stdout=out,
            stderr=err,
            text=True,
        )
    running = Server(process, f"http://127.0.0.1:{port}", folder, stdout, stderr)
    try:
        _wait_ready(running)
        yield running
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_ready(server: Server) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            pytest.fail(f"eltiketi serve exited with {server.process.returncode}:\n{server.logs()}")
        try:
            ready = httpx.get(f"{server.base_url}/health/ready", timeout=2).status_code == 200
            if ready and "demo event:" in server.stdout.read_text():
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    pytest.fail(f"eltiketi serve was not ready within {START_TIMEOUT}s:\n{server.logs()}")


def test_serve_binds_loopback_and_seeds_one_demo_event(server: Server) -> None:
    lines = [line for line in server.stdout.read_text().splitlines() if line.strip()]
    assert len(lines) == 1
    assert lines[0].startswith("demo event: ")
    event_id = lines[0].removeprefix("demo event: ")
    events = httpx.get(f"{server.base_url}/v1/events").json()["items"]
    assert [e["id"] for e in events] == [event_id]
    assert len(events[0]["ticket_types"]) == 2
    assert (server.data_dir / "eltiketi.db").exists()
    assert "WARNING" not in server.stderr.read_text()


def test_the_journey_script_completes_against_the_server(server: Server) -> None:
    result = subprocess.run(
        [
            sys.executable,
            str(JOURNEY),
            "--base-url",
            server.base_url,
            "--data-dir",
            str(server.data_dir),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env=clean_env(),
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr + server.logs()
    out = result.stdout
    for step in (
        "[1] ",
        "[2] ",
        "[3] ",
        "[8] held",
        "[9] ",
        "[10] paid",
        "[13] order",
        "[14] ",
        "[15] ",
        "[16] ",
    ):
        assert step in out, step
    assert "sold=2" in out
    assert "with 2 QR code(s)" in out
    assert "first scan accepted" in out
    assert "second scan refused: already_checked_in" in out
    assert out.rstrip().endswith(
        "journey complete: 16 steps, order confirmed, e-ticket on disk, one entry"
    )
    assert list((server.data_dir / "outbox").glob("*-tickets-*.eml"))


def test_dev_token_prints_only_a_token_the_server_accepts(server: Server) -> None:
    result = subprocess.run(
        eltiketi("dev-token", "--sub", "olga", "--role", "organizer"),
        cwd=server.folder,
        capture_output=True,
        text=True,
        timeout=60,
        env=clean_env(),
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.count("\n") == 1
    token = result.stdout.strip()
    assert token.count(".") == 2
    assert " " not in token
    mine = httpx.get(
        f"{server.base_url}/v1/events?mine=true", headers={"Authorization": f"Bearer {token}"}
    )
    assert mine.status_code == 200
    assert mine.json()["items"] == []


def test_dev_token_member_makes_a_door_member_of_the_running_servers_database(
    server: Server,
) -> None:
    """The README tour's door step: membership is a row in the embedded database, which
    ``--member`` writes before printing the token; the running server sees it at once."""
    [event] = httpx.get(f"{server.base_url}/v1/events").json()["items"]
    organization = event["organization_id"]

    def dev_token(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            eltiketi("dev-token", "--sub", "door", *args),
            cwd=server.folder,
            capture_output=True,
            text=True,
            timeout=60,
            env=clean_env(),
            check=False,
        )

    plain = dev_token()
    member = dev_token("--member", f"{organization}:door")

    assert member.returncode == 0, member.stderr
    assert f"door is door of organization {organization}" in member.stderr
    token = member.stdout.strip()
    seen = httpx.get(
        f"{server.base_url}/v1/organizations/{organization}",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert seen.status_code == 200, seen.text
    assert seen.json()["role"] == "door"
    # the plain token of the same subject works too: membership is not in the token
    assert plain.returncode == 0
    mine = httpx.get(
        f"{server.base_url}/v1/organizations",
        headers={"Authorization": f"Bearer {plain.stdout.strip()}"},
    ).json()["items"]
    assert [(o["id"], o["role"]) for o in mine] == [(organization, "door")]

    unknown = dev_token("--member", "00000000-0000-4000-8000-000000000000:door")
    assert unknown.returncode == 2 and unknown.stdout == ""
    assert "organization_not_found" in unknown.stderr
    for bad in ("nope", f"{organization}:bouncer", f"{organization}"):
        refused = dev_token("--member", bad)
        assert refused.returncode == 2 and refused.stdout == ""
        assert "ORG_ID:ROLE" in refused.stderr


def test_the_server_stops_cleanly_on_sigterm(server: Server) -> None:
    server.process.send_signal(signal.SIGTERM)

    assert server.process.wait(timeout=30) == 0
    assert "background loops stopped" in server.stderr.read_text()
    assert "elTiketi stopped (SIGTERM)" in server.stderr.read_text()
