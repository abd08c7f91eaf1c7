"""A production-shaped deployment of separate processes: API, relay and consumer workers.

Every process is the real command line (``eltiketi worker …``) with ``ELTIKETI_*``
variables: PostgreSQL, the tansu broker, e-mails as ``.eml`` files in a shared data
folder. The API is ``eltiketi serve`` with ``ELTIKETI_KAFKA_BOOTSTRAP``: it runs no
background role and leaves them to the workers.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.infra.kafka import FAST_GROUP_SETTINGS, unique_name
from tests.infra.ports import ComponentProcess, free_port, start_process, wait_for_port

LOOPBACK = "127.0.0.1"


def eltiketi_argv(*args: str) -> list[str]:
    """The ``eltiketi`` script of this interpreter's environment."""
    script = Path(sys.executable).with_name("eltiketi")
    if script.exists():
        return [str(script), *args]
    return [sys.executable, "-m", "eltiketi_app.cli", *args]


@dataclass
class Deployment:
    """The processes of one test and the environment they share."""

    data_dir: Path
    env: dict[str, str]
    port: int
    processes: dict[str, ComponentProcess] = field(default_factory=dict)

    @property
    def base_url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    @property
    def worker_data_dir(self) -> Path:
        """Workers do not share the API's disk (as on separate machines)."""
        return self.data_dir.with_name("worker-data")

    @property
    def mail_dir(self) -> Path:
        """Where the notification worker writes e-mails (embedded: ``.eml`` files)."""
        return self.worker_data_dir / "outbox"

    def start_api(self) -> ComponentProcess:
        process = start_process("api", eltiketi_argv("serve"), env=self.env, cwd=_repo_root())
        self.processes["api"] = process
        wait_for_port(LOOPBACK, self.port, timeout=30, process=process)
        return process

    def start_worker(self, name: str, *roles: str) -> ComponentProcess:
        env = {**self.env, "ELTIKETI_DATA_DIR": str(self.worker_data_dir)}
        process = start_process(name, eltiketi_argv("worker", *roles), env=env, cwd=_repo_root())
        self.processes[name] = process
        return process

    def kill(self, name: str) -> None:
        """SIGKILL: no shutdown code runs, nothing is committed on the way out."""
        process = self.processes.pop(name)
        process.send_signal(signal.SIGKILL)
        process.popen.wait(timeout=10)
        process.stop()

    async def terminate(self, name: str, within: float = 20.0) -> int:
        """SIGTERM and wait: the exit status (0 is a graceful stop)."""
        process = self.processes[name]
        process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(within):
            while process.returncode is None:  # noqa: ASYNC110 - polling a child process
                await asyncio.sleep(0.05)
        return int(process.returncode)

    def tickets_mail(self) -> list[Path]:
        return sorted(self.mail_dir.glob("*-tickets-*.eml")) if self.mail_dir.exists() else []

    def mail_recipients(self) -> list[str]:
        recipients = []
        for path in self.tickets_mail():
            for line in path.read_text(errors="replace").splitlines():
                if line.lower().startswith("to:"):
                    recipients.append(line.split(":", 1)[1].strip())
                    break
        return sorted(recipients)

    def logs(self) -> str:
        return "\n".join(process.output(limit=3000) for process in self.processes.values())

    def stop_all(self) -> None:
        for process in self.processes.values():
            process.stop(timeout=10)
        self.processes.clear()


@contextlib.contextmanager
def deployment(tmp_path: Path, database_url: str, bootstrap: str) -> Iterator[Deployment]:
    prefix = unique_name("e2e")
    port = free_port()
    data_dir = tmp_path / "data"
    env = {
        "ELTIKETI_MODE": "embedded",
        "ELTIKETI_DATA_DIR": str(data_dir),
        "ELTIKETI_DATABASE_URL": database_url,
        "ELTIKETI_KAFKA_BOOTSTRAP": bootstrap,
        "ELTIKETI_PORT": str(port),
        "ELTIKETI_PUBLIC_URL": f"http://{LOOPBACK}:{port}",
        "ELTIKETI_LOG_FORMAT": "json",
        "ELTIKETI_LOG_LEVEL": "INFO",
        "ELTIKETI_KAFKA_TOPIC_PREFIX": f"{prefix}.",
        "ELTIKETI_KAFKA_GROUP_PREFIX": f"{prefix}-",
        "ELTIKETI_KAFKA_PARTITIONS": "4",
        "ELTIKETI_KAFKA_REQUEST_TIMEOUT_MS": "5000",
        "ELTIKETI_KAFKA_SESSION_TIMEOUT_MS": str(FAST_GROUP_SETTINGS["session_timeout_ms"]),
        "ELTIKETI_KAFKA_HEARTBEAT_INTERVAL_MS": str(FAST_GROUP_SETTINGS["heartbeat_interval_ms"]),
        "ELTIKETI_KAFKA_RETRY_BASE_SECONDS": "0.1",
        "ELTIKETI_RELAY_POLL_SECONDS": "0.1",
        "ELTIKETI_WORKER_GRACEFUL_SECONDS": "5",
    }
    running = Deployment(data_dir=data_dir, env=env, port=port)
    try:
        yield running
    finally:
        running.stop_all()


class Buyer:
    """The HTTP client side of the journey (seed steps 1–13), against the running API."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self._tokens: dict[str, dict[str, str]] = {}

    async def auth(self, sub: str, *roles: str, email: str | None = None) -> dict[str, str]:
        if sub not in self._tokens:
            response = await self.client.post(
                "/dev/token", json={"sub": sub, "roles": list(roles), "email": email}
            )
            assert response.status_code == 200, response.text
            self._tokens[sub] = {"Authorization": f"Bearer {response.json()['access_token']}"}
        return self._tokens[sub]

    async def sale(self, capacity: int) -> tuple[str, str, dict[str, str]]:
        """A published event with one ticket type: (event id, ticket type id, organizer)."""
        olga = await self.auth("olga", "organizer")
        event = await self.client.post(
            "/v1/events",
            json={
                "name": "Kafka Night",
                "venue": "Hall",
                "starts_at": "2031-06-01T20:00:00+02:00",
                "timezone": "Europe/Vienna",
                "locale": "de-AT",
                "currency": "EUR",
            },
            headers=olga,
        )
        assert event.status_code == 201, event.text
        event_id = event.json()["id"]
        ticket_type = await self.client.post(
            f"/v1/events/{event_id}/ticket-types",
            json={
                "name": "Standing",
                "price": {"amount": 3500, "currency": "EUR"},
                "capacity": capacity,
            },
            headers=olga,
        )
        assert ticket_type.status_code == 201, ticket_type.text
        published = await self.client.post(f"/v1/events/{event_id}/publish", headers=olga)
        assert published.status_code == 200, published.text
        return event_id, ticket_type.json()["id"], olga

    async def buy(
        self, name: str, event_id: str, ticket_type_id: str, quantity: int = 1
    ) -> dict[str, Any]:
        """Hold, pay on the fake gateway's page, confirm: the confirmed order."""
        who = await self.auth(name, email=f"{name}@example.test")
        held = await self.client.post(
            "/v1/bookings",
            json={
                "event_id": event_id,
                "items": [{"ticket_type_id": ticket_type_id, "quantity": quantity}],
            },
            headers=who,
        )
        assert held.status_code == 201, held.text
        booking_id = held.json()["id"]
        payment = await self.client.post(f"/v1/bookings/{booking_id}/payment", headers=who)
        assert payment.status_code == 200, payment.text
        checkout = httpx.URL(payment.json()["checkout_url"])
        paid = await self.client.post(
            checkout.path, data={"outcome": "pay"}, follow_redirects=False
        )
        assert paid.status_code == 303, paid.text
        confirmed = await self.client.post(
            "/v1/orders",
            json={"booking_id": booking_id, "payment_id": payment.json()["payment_id"]},
            headers=who,
        )
        assert confirmed.status_code in {200, 201}, confirmed.text
        order = dict(confirmed.json())
        assert order["status"] == "confirmed"
        return order

    async def stock(self, event_id: str, organizer: dict[str, str]) -> dict[str, Any]:
        response = await self.client.get(f"/v1/events/{event_id}/stock", headers=organizer)
        assert response.status_code == 200, response.text
        (level,) = response.json()["ticket_types"]
        return dict(level)


@contextlib.asynccontextmanager
async def buyer(running: Deployment) -> AsyncIterator[Buyer]:
    async with httpx.AsyncClient(base_url=running.base_url, timeout=10) as client:
        yield Buyer(client)


def _repo_root() -> Path:
    return Path(__file__).resolve().parents[3]
