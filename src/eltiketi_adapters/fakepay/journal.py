"""The file behind :class:`~eltiketi_adapters.fakepay.SharedFakePaymentGateway`.

A JSON Lines journal: every change appends the changed payment as one line, and the
last line of a reference wins. A change costs one short append instead of rewriting
every payment, which would make a long run quadratic.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Final

import msgspec

from eltiketi_adapters.memory.gateway import FakePayment

if sys.platform != "win32":
    import fcntl

log = logging.getLogger(__name__)

_NEWLINE: Final = b"\n"


class PaymentJournal:
    """Append-only JSON Lines file of payment records, shared by processes.

    Every read and append happens under an exclusive ``flock`` of ``<file>.lock`` (a file
    that is never replaced), so a reader never sees half a line from a live writer and
    a compaction never drops another process's append. A compaction replaces the journal
    with a new file; the others notice the new inode and read it from the start.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock_fd = os.open(f"{path}.lock", os.O_RDWR | os.O_CREAT, 0o644)
        self._fd: int | None = None
        self._inode: tuple[int, int] | None = None
        #: bytes of the journal already applied (always at the end of a whole line)
        self._offset = 0
        self._depth = 0
        self._encoder = msgspec.json.Encoder()
        self._decoder = msgspec.json.Decoder(FakePayment)

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the cross-process lock (re-entrant within this journal)."""
        if self._lock_fd < 0:
            raise RuntimeError("the payment journal is closed")
        if self._depth == 0 and sys.platform != "win32":
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX)
        self._depth += 1
        try:
            yield
        finally:
            self._depth -= 1
            if self._depth == 0 and sys.platform != "win32":
                fcntl.flock(self._lock_fd, fcntl.LOCK_UN)

    def news(self) -> tuple[bool, list[FakePayment]]:
        """Records appended since the last call (call it holding :meth:`locked`).

        Returns ``(True, every record)`` when the file was replaced (a compaction
        elsewhere) or read for the first time, else ``(False, new records)``.
        """
        try:
            on_disk = os.stat(self.path)
            fresh = (on_disk.st_dev, on_disk.st_ino) != self._inode
        except FileNotFoundError:
            fresh = True
        if fresh:
            self._reopen()
        assert self._fd is not None
        size = os.fstat(self._fd).st_size
        if size == self._offset:
            return fresh, []
        os.lseek(self._fd, self._offset, os.SEEK_SET)
        data = os.read(self._fd, size - self._offset)
        end = data.rfind(_NEWLINE) + 1
        if end < len(data):
            # Bytes after the last newline while we hold the lock: a writer died mid-line
            # (the line will not decode). End that line so the next append starts a line
            # of its own.
            os.write(self._fd, _NEWLINE)
            data += _NEWLINE
            end = len(data)
        self._offset += end
        return fresh, self._decode(data[:end])

    def append(self, payment: FakePayment) -> None:
        """Add one record (holding :meth:`locked`, after :meth:`news`)."""
        if self._fd is None:
            self._reopen()
        assert self._fd is not None
        line = self._encoder.encode(payment) + _NEWLINE
        written = os.write(self._fd, line)
        if written != len(line):  # pragma: no cover - a full disk
            raise OSError(f"short write to {self.path}")
        self._offset += written

    def compact(self, payments: Mapping[str, FakePayment]) -> None:
        """Replace the journal by one line per payment (holding :meth:`locked`)."""
        tmp = self.path.with_name(f"{self.path.name}.{os.getpid()}.tmp")
        tmp.write_bytes(b"".join(self._encoder.encode(p) + _NEWLINE for p in payments.values()))
        tmp.replace(self.path)  # atomic: a crash leaves the old file or the new one
        self._reopen()
        assert self._fd is not None
        self._offset = os.fstat(self._fd).st_size

    def close(self) -> None:
        for fd in (self._fd, self._lock_fd):
            if fd is not None and fd >= 0:
                os.close(fd)
        self._fd = None
        self._lock_fd = -1

    def _reopen(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
        self._fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
        stat = os.fstat(self._fd)
        self._inode = (stat.st_dev, stat.st_ino)
        self._offset = 0

    def _decode(self, data: bytes) -> list[FakePayment]:
        records: list[FakePayment] = []
        for line in data.splitlines():
            if not line.strip():
                continue
            try:
                records.append(self._decoder.decode(line))
            except msgspec.DecodeError:  # ValidationError included
                log.warning(
                    "fake gateway journal: skipping an unreadable line",
                    extra={"path": str(self.path)},
                )
        return records
