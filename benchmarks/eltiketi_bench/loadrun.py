"""Running the driver process for one scenario and relaying its progress to the terminal."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import TextIO

import msgspec

from eltiketi_bench.driver import DECODER, DriverResult, Plan, Progress


class ProgressLine:
    """Progress on stderr: one rewritten line on a terminal, one line per update otherwise."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream or sys.stderr
        self._tty = self._stream.isatty()
        self._open = False

    def say(self, text: str) -> None:
        self._end_line()
        print(text, file=self._stream, flush=True)

    def update(self, text: str) -> None:
        if self._tty:
            print(f"\r\x1b[2K{text}", end="", file=self._stream, flush=True)
            self._open = True
        else:
            print(text, file=self._stream, flush=True)

    def _end_line(self) -> None:
        if self._open:
            print(file=self._stream, flush=True)
            self._open = False


class DriverFailed(RuntimeError):
    pass


async def run_driver(
    plan: Plan, *, label: str, unit: str, workdir: Path, progress: ProgressLine
) -> DriverResult:
    """Start the driver process with ``plan``; relay its progress; return its result."""
    name = label.split(maxsplit=1)[0]
    plan_path = workdir / f"plan-{name}.json"
    plan_path.write_bytes(msgspec.json.encode(plan))
    log_path = workdir / f"driver-{name}.log"
    with log_path.open("ab") as log:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "eltiketi_bench.driver",
            str(plan_path),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=log,
        )
    result: DriverResult | None = None
    assert process.stdout is not None
    try:
        async for line in process.stdout:
            message = DECODER.decode(line)
            if isinstance(message, Progress):
                rate = message.ok / message.t if message.t > 0 else 0.0
                progress.update(
                    f"  {label}: {message.t:5.1f} s  {message.ok:,} {unit} ({rate:,.0f}/s)"
                    f"  attempts {message.attempts:,}  errors {message.errors:,}"
                )
            else:
                result = message
        status = await process.wait()
    except BaseException:
        if process.returncode is None:
            process.kill()
            await process.wait()
        raise
    if result is None or status != 0:
        tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-20:])
        raise DriverFailed(f"the load driver exited with status {status}:\n{tail}")
    return result
