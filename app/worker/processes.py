"""The worker's processes: stopping on a signal or when the parent is gone, and the bulk
process the worker starts, watches and stops.

Bulk jobs parse uploads and validate and write their chunks: CPU work of seconds to minutes
for a large file. Run in the worker's process (on its loop, or on a thread of its own, which
still shares the GIL) it held webhook dispatch and timers back for as long
(`webhook_latency_during_bulk_import` in `bench/webhooks.py`). So the worker runs them in a
process of their own, `minishop bulk-worker` (`app.worker.runner.run_bulk_jobs`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
import time
from collections.abc import Coroutine, Iterator, Sequence
from typing import Any

log = logging.getLogger("minishop.worker")

#: How often a process started by another (`serve --with-worker`'s worker, the worker's bulk
#: process) checks that its parent is still alive.
PARENT_POLL_SECONDS = 0.5
#: Added to the bulk process's niceness as soon as it is started (its imports included): on
#: a busy machine the scheduler gives the CPU to the worker (webhook dispatch, timers) first
#: and to bulk jobs what is left; an idle machine still runs them at full speed.
BULK_NICENESS = 10
#: How long the bulk process has to stop after SIGTERM before it is killed. It stops at its
#: next await (a chunk's transaction is rolled back, the job taken over once its heartbeat is
#: stale), which parsing a large upload may put off by a few seconds. `serve` gives the
#: worker 10 s.
BULK_STOP_GRACE_SECONDS = 5.0
#: A bulk process that died is started again after this long, twice as long after each one
#: that died within `BULK_STABLE_SECONDS` of its start, up to `BULK_RESTART_MAX_SECONDS`.
BULK_RESTART_SECONDS = 1.0
BULK_RESTART_MAX_SECONDS = 30.0
BULK_STABLE_SECONDS = 30.0


def parent_gone(parent_pid: int | None) -> bool:
    """A process started by another is re-parented when that one dies, however it died."""
    return parent_pid is not None and os.getppid() != parent_pid


async def sleep_unless_stopped(seconds: float, stop: asyncio.Event, parent_pid: int | None) -> None:
    """Sleep `seconds`, less when `stop` is set or the parent process is gone."""
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0 and not (
        stop.is_set() or parent_gone(parent_pid)
    ):
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), min(left, PARENT_POLL_SECONDS))


@contextlib.contextmanager
def stopped_by_signals(stop: asyncio.Event) -> Iterator[None]:
    """SIGTERM and SIGINT set `stop` (the process winds down) instead of killing it."""
    loop = asyncio.get_running_loop()
    signals = (signal.SIGTERM, signal.SIGINT)
    for sig in signals:
        loop.add_signal_handler(sig, stop.set)
    try:
        yield
    finally:
        for sig in signals:
            loop.remove_signal_handler(sig)


def bulk_command(parent_pid: int) -> list[str]:
    """`minishop bulk-worker` (app/cli.py, which gives it the API's row validator) run by this
    interpreter, exiting when `parent_pid` does."""
    return [sys.executable, "-m", "app", "bulk-worker", "--parent-pid", str(parent_pid)]


class BulkProcess:
    """The worker's bulk process: started when `run` starts, started again when it dies,
    stopped when `stop` is set or `run` is cancelled (SIGTERM, then SIGKILL after `grace`);
    `niceness` lower in priority than the worker."""

    def __init__(
        self,
        command: Sequence[str],
        *,
        grace: float = BULK_STOP_GRACE_SECONDS,
        restart_after: float = BULK_RESTART_SECONDS,
        niceness: int = BULK_NICENESS,
    ) -> None:
        self.command = list(command)
        self.grace = grace
        self.niceness = niceness
        self.restart_after = restart_after
        #: The process running now, if any.
        self.pid: int | None = None

    async def run(self, stop: asyncio.Event) -> None:
        delay = self.restart_after
        while not stop.is_set():
            started = time.monotonic()
            try:
                proc = await asyncio.create_subprocess_exec(*self.command)
            except OSError:
                log.exception("the bulk process could not be started")
            else:
                self.pid = proc.pid
                with contextlib.suppress(ProcessLookupError):  # (it died at once)
                    mine = os.getpriority(os.PRIO_PROCESS, 0)
                    os.setpriority(os.PRIO_PROCESS, proc.pid, mine + self.niceness)
                log.info("bulk process started", extra={"pid": proc.pid})
                try:
                    await _first(proc.wait(), stop.wait())
                finally:
                    if proc.returncode is None:  # stopping (or cancelled)
                        await self._stop(proc)
                    self.pid = None
                if stop.is_set():
                    return
                log.warning(
                    "the bulk process exited; starting another",
                    extra={"pid": proc.pid, "returncode": proc.returncode},
                )
            if time.monotonic() - started >= BULK_STABLE_SECONDS:
                delay = self.restart_after
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)
            delay = min(delay * 2, BULK_RESTART_MAX_SECONDS)

    async def _stop(self, proc: asyncio.subprocess.Process) -> None:
        with contextlib.suppress(ProcessLookupError):
            proc.terminate()
        try:
            await asyncio.wait_for(proc.wait(), self.grace)
        except TimeoutError:
            log.warning(
                "the bulk process did not stop in time; killing it", extra={"pid": proc.pid}
            )
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()
        log.info("bulk process stopped", extra={"pid": proc.pid, "returncode": proc.returncode})


async def _first(*coros: Coroutine[Any, Any, object]) -> None:
    """Wait until the first of `coros` is done; cancel the others."""
    tasks = [asyncio.ensure_future(c) for c in coros]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for t in tasks:
            t.cancel()
