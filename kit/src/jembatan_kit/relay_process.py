"""The outbox relay in a process of its own (`OUTBOX_RELAY_PROCESS=true`).

A consumer that stages an event for each it handles (financing opens a loan for each placement
and announces it) spends a good part of its event loop publishing what it staged, in the same
process. Here the service starts a second process that runs only the relay (`OutboxRelay`, with
its lease, as any replica's) and wakes it after each commit that staged events with one byte down
a pipe: the event loop of the service then only handles requests and events, and the relay
publishes beside it, on another core where the machine has one.

The relay process ends when the service closes its end of the pipe (the service stopped or
died), and the service starts it again when it ends on its own (`RelayProcess.problem` says so in
`/health` meanwhile); what it had not published stays in the outbox for the next.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys

from .broker import make_broker
from .db import create_engine, create_session_factory
from .outbox import OutboxRelay, RelayLease, replica_name
from .settings import ServiceSettings
from .telemetry import setup_telemetry

log = logging.getLogger(__name__)

SETTINGS_ENV = "JEMBATAN_RELAY_SETTINGS"
"""The service's settings, as JSON, for the relay process."""

WAKE_FD_ENV = "JEMBATAN_RELAY_WAKE_FD"
"""The relay process's end of the pipe the service wakes it through."""

RESTART_DELAY_S = 1.0
STOP_TIMEOUT_S = 10.0


class RelayProcess:
    """The service's side of a relay in a process of its own: started with messaging, woken
    after each commit that staged events, started again if it ends, stopped with the service."""

    def __init__(self, settings: ServiceSettings) -> None:
        self._settings = ServiceSettings.model_validate(settings.model_dump())
        self._process: asyncio.subprocess.Process | None = None
        self._wake_fd: int | None = None
        self._task: asyncio.Task[None] | None = None
        self._problem: str | None = None

    def wake(self) -> None:
        """Tell the relay there are rows to publish. Never blocks: a full pipe already holds a
        wake-up the relay has not read."""
        if self._wake_fd is not None:
            with contextlib.suppress(BlockingIOError, BrokenPipeError):
                os.write(self._wake_fd, b"\0")

    async def start(self) -> None:
        self._task = asyncio.create_task(self._keep_running(), name="outbox-relay-process")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self._end()

    def problem(self) -> str | None:
        """Why the relay does not run right now, in words for `/health`; None when it does."""
        return self._problem if self._task is not None else None

    async def _keep_running(self) -> None:
        while True:
            try:
                process = await self._spawn()
            except OSError as exc:
                self._problem = f"outbox relay process could not start ({exc}); trying again"
                log.warning("%s in %.0f s", self._problem, RESTART_DELAY_S)
            else:
                self._problem = None
                exited = await process.wait()
                self._problem = f"outbox relay process exited with {exited}; starting it again"
                log.warning("%s in %.0f s", self._problem, RESTART_DELAY_S)
                self._close_pipe()
            await asyncio.sleep(RESTART_DELAY_S)

    async def _spawn(self) -> asyncio.subprocess.Process:
        read_fd, write_fd = os.pipe()
        try:
            self._process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                __name__,
                env={
                    **os.environ,
                    SETTINGS_ENV: self._settings.model_dump_json(),
                    WAKE_FD_ENV: str(read_fd),
                },
                pass_fds=(read_fd,),
            )
        except BaseException:
            os.close(write_fd)
            raise
        finally:
            os.close(read_fd)
        os.set_blocking(write_fd, False)
        self._wake_fd = write_fd
        self.wake()  # whatever was staged before it started
        return self._process

    async def _end(self) -> None:
        process, self._process = self._process, None
        self._close_pipe()  # the relay ends when it reads the pipe's end
        if process is None or process.returncode is not None:
            return
        process.terminate()
        try:
            await asyncio.wait_for(process.wait(), STOP_TIMEOUT_S)
        except TimeoutError:
            process.kill()
            await process.wait()

    def _close_pipe(self) -> None:
        if self._wake_fd is not None:
            os.close(self._wake_fd)
            self._wake_fd = None


async def relay_until_told(settings: ServiceSettings, wake_fd: int) -> None:
    """Run the service's outbox relay until the pipe's other end closes or SIGTERM comes."""
    setup_telemetry(settings.service_name, settings.agency)
    engine = create_engine(settings.database_url, busy_timeout_s=settings.database_busy_timeout_s)
    sessions = create_session_factory(engine)
    broker = make_broker(settings.nats_url, f"{settings.service_name}-relay")
    relay = OutboxRelay(
        broker,
        sessions,
        poll_interval_s=settings.outbox_poll_interval_s,
        batch_size=settings.outbox_batch_size,
        lease=RelayLease(sessions, holder=replica_name(settings.service_name, settings.http_port)),
    )
    ended = asyncio.Event()
    loop = asyncio.get_running_loop()

    def woken() -> None:
        try:
            read = os.read(wake_fd, 4096)
        except BlockingIOError:
            return
        if read:
            relay.wake()
        else:
            ended.set()  # the service closed its end: it stopped, or died

    os.set_blocking(wake_fd, False)
    loop.add_reader(wake_fd, woken)
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, ended.set)
    try:
        await broker.connect()
        await relay.start()
        await ended.wait()
    finally:
        loop.remove_reader(wake_fd)
        await relay.stop()
        with contextlib.suppress(Exception):
            await broker.stop()
        await engine.dispose()


def main() -> None:
    settings = ServiceSettings.model_validate_json(os.environ[SETTINGS_ENV])
    logging.basicConfig(
        level=settings.log_level,
        format=f"%(asctime)s {settings.service_name}-relay %(name)s %(message)s",
    )
    asyncio.run(relay_until_told(settings, int(os.environ[WAKE_FD_ENV])))


if __name__ == "__main__":
    main()
