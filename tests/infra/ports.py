"""Free loopback ports, waiting for them, and the subprocess wrapper every component uses.

Several components refuse port 0, so a fixture picks the port itself: bind a socket to port 0,
read the port the kernel chose, close the socket and hand the number to the component.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

LOOPBACK = "127.0.0.1"
_PR_SET_PDEATHSIG = 1


class ComponentStartError(RuntimeError):
    """A component was installed but did not become ready (its output is in the message)."""


def free_port(host: str = LOOPBACK) -> int:
    """Return a TCP port on ``host`` that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def port_is_open(host: str, port: int, timeout: float = 0.2) -> bool:
    """True if something accepts TCP connections on ``host:port``."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def wait_for_port(
    host: str,
    port: int,
    timeout: float = 10.0,
    process: ComponentProcess | None = None,
) -> None:
    """Poll until ``host:port`` accepts connections.

    Raises:
        ComponentStartError: on the deadline, or as soon as ``process`` exits; the message
            carries the process's captured stdout/stderr.
    """
    wait_until(
        lambda: port_is_open(host, port),
        timeout=timeout,
        what=f"{host}:{port} to accept connections",
        process=process,
    )


def wait_until(
    predicate: Callable[[], bool],
    *,
    timeout: float,
    what: str,
    process: ComponentProcess | None = None,
    interval: float = 0.02,
) -> None:
    """Poll ``predicate`` until it is true, the deadline passes, or ``process`` dies."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return
        if process is not None and process.returncode is not None:
            raise ComponentStartError(
                f"{process.name} exited with code {process.returncode} while waiting for {what}"
                f"\n{process.output()}"
            )
        if time.monotonic() > deadline:
            details = f"\n{process.output()}" if process is not None else ""
            raise ComponentStartError(f"timed out after {timeout:.1f}s waiting for {what}{details}")
        time.sleep(interval)


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    """Ask Linux to SIGTERM the child if the test process dies without tearing down."""
    with contextlib.suppress(Exception):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclass
class ComponentProcess:
    """A component subprocess whose stdout/stderr go to temporary files (no pipe can fill up)."""

    name: str
    popen: subprocess.Popen[bytes]
    log_dir: Path
    _stopped: bool = field(default=False, repr=False)

    @property
    def pid(self) -> int:
        return self.popen.pid

    @property
    def returncode(self) -> int | None:
        return self.popen.poll()

    def stdout(self) -> str:
        return self._read("stdout.log")

    def stderr(self) -> str:
        return self._read("stderr.log")

    def output(self, limit: int = 4000) -> str:
        """The tail of the captured stdout and stderr, for error messages."""
        return (
            f"--- {self.name} stdout ---\n{self.stdout()[-limit:]}"
            f"\n--- {self.name} stderr ---\n{self.stderr()[-limit:]}"
        )

    def send_signal(self, sig: int) -> None:
        if self.returncode is None:
            self.popen.send_signal(sig)

    def stop(self, timeout: float = 5.0) -> None:
        """Terminate (after waking it, should it be paused), then kill; remove the logs."""
        if self._stopped:
            return
        self._stopped = True
        if self.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.popen.send_signal(signal.SIGCONT)
                self.popen.terminate()
            try:
                self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(timeout=timeout)
        shutil.rmtree(self.log_dir, ignore_errors=True)

    def _read(self, filename: str) -> str:
        try:
            return (self.log_dir / filename).read_text(errors="replace")
        except FileNotFoundError:
            return ""


def start_process(
    name: str,
    argv: Sequence[str | os.PathLike[str]],
    *,
    env: Mapping[str, str] | None = None,
    cwd: str | os.PathLike[str] | None = None,
) -> ComponentProcess:
    """Start ``argv`` with its output captured to files; ``env`` is added to ``os.environ``."""
    log_dir = Path(tempfile.mkdtemp(prefix=f"eltiketi-{name}-"))
    full_env = {**os.environ, **(env or {})}
    with (log_dir / "stdout.log").open("wb") as out, (log_dir / "stderr.log").open("wb") as err:
        popen = subprocess.Popen(
            [os.fspath(arg) for arg in argv],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            env=full_env,
            cwd=cwd,
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,  # noqa: PLW1509
        )
    return ComponentProcess(name=name, popen=popen, log_dir=log_dir)
