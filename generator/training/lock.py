"""One writer per run folder: a lease in `<run folder>/LOCK`, held by rank 0.

The JobSet is named after the workflow run and applied idempotently, so two jobs writing
one folder should never happen; this is the guard for when it does anyway (a hand-made
second submission, a stale pod on a partitioned node). The lock is a JSON object
`{"owner", "expires"}` renewed every third of the lease by a daemon thread. A run that
ends normally, fails with an exception or is preempted releases it; a run that died
without a word leaves it to expire, and the next attempt waits for that (at most one
lease, five minutes by default, `MODELOPS_LOCK_LEASE`). A lock whose owner keeps renewing
it is a live writer: the newcomer stops with a configuration error (exit 2), since
retrying would not help.

Object stores have no compare-and-swap through fsspec: the newcomer writes its claim,
waits a moment and reads it back, so of two runs racing for a free folder, the one whose
write landed last wins and the other sees it and stops.
"""
from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
import uuid

from . import storage
from .config import ConfigError

__all__ = ["DEFAULT_LEASE_S", "RunLock"]

DEFAULT_LEASE_S = 300.0
_SETTLE_S = 1.0
log = logging.getLogger("generator.training")


class RunLock:
    def __init__(self, run_dir: str, lease_s: float | None = None) -> None:
        self.uri = storage.join(run_dir, "LOCK")
        self.lease_s = lease_s or float(os.environ.get("MODELOPS_LOCK_LEASE", DEFAULT_LEASE_S))
        self.owner = f"{socket.gethostname()}/{os.getpid()}/{uuid.uuid4().hex[:8]}"
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def acquire(self) -> RunLock:
        """Take the folder, waiting out an expired holder; ConfigError if another run holds it."""
        held = self._read()
        if held is not None and held.get("owner") != self.owner and float(held.get("expires", 0)) > time.time():  # type: ignore[arg-type]
            self._wait_out(held)
        self._write()
        time.sleep(_SETTLE_S)
        current = self._read()
        if current is None or current.get("owner") != self.owner:
            raise ConfigError(f"{self.uri}: another run claimed this run folder at the same time "
                              f"({(current or {}).get('owner', 'unknown')}); one folder, one writer")
        self._thread = threading.Thread(target=self._renew, name="run-lock", daemon=True)
        self._thread.start()
        return self

    def release(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        held = self._read()
        if held is not None and held.get("owner") == self.owner:
            storage.remove(self.uri)

    def _wait_out(self, held: dict[str, object]) -> None:
        expires = float(held.get("expires", 0))  # type: ignore[arg-type]
        if expires - time.time() > self.lease_s + 60:
            raise self._busy(held)
        log.warning("run folder locked by %s until %.0fs from now; waiting for the lease to lapse",
                    held.get("owner"), expires - time.time())
        time.sleep(max(0.0, expires - time.time()) + _SETTLE_S)
        again = self._read()
        if again is not None and float(again.get("expires", 0)) > time.time():  # type: ignore[arg-type]
            raise self._busy(again)

    def _busy(self, held: dict[str, object]) -> ConfigError:
        return ConfigError(f"{self.uri}: run folder is in use by {held.get('owner')} (another job writing the same "
                           "run); one folder, one writer")

    def _renew(self) -> None:
        while not self._stop.wait(self.lease_s / 3):
            try:
                self._write()
            except OSError as exc:  # a missed renewal is not fatal; the lease outlives two of them
                log.warning("could not renew %s: %s", self.uri, exc)

    def _write(self) -> None:
        record = {"owner": self.owner, "expires": time.time() + self.lease_s}
        storage.write_bytes(self.uri, json.dumps(record, sort_keys=True).encode())

    def _read(self) -> dict[str, object] | None:
        try:
            data = json.loads(storage.read_bytes(self.uri))
        except FileNotFoundError:
            return None
        except ValueError:
            return {"owner": "unreadable", "expires": 0}
        return data if isinstance(data, dict) else None
