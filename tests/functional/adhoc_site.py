"""A real evbilling server on loopback with the sandbox provider mounted (its hosted card
page reached at the server's public URL) and a simulated charger with a car plugged in,
which starts and stops when told to: what the ad-hoc payment's functional and browser tests
run against."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import uvicorn
from ocpp.routing import after
from ocpp.v16 import call, call_result
from ocpp.v16.enums import Action

from evbilling.config import Settings
from evbilling.infra.context import ServiceContext
from evbilling.infra.jobs import JobWorker
from evbilling.kit import FixedClock
from evbilling.main import create_app, job_registry
from evbilling.payments.providers import ProviderSettings, server_payments
from tests.functional.charger import Handler, TestCharger, on
from tests.functional.conftest import LiveServer, connect


def on_after(action: str) -> Callable[[Handler], Handler]:
    """The ocpp library's @after, typed."""
    decorator: Callable[[Handler], Handler] = after(action)
    return decorator


class PluggedCharger(TestCharger):
    """A charger with a car plugged in: a RemoteStart it accepted is followed by a
    StartTransaction and meter values; a RemoteStop by the stop and the unplug."""

    __test__ = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.transaction_id: int | None = None
        self.tasks: set[asyncio.Task[None]] = set()
        # Seconds the charger takes to answer RemoteStart (longer than the server waits:
        # the answer is lost, the StartTransaction still comes).
        self.start_answer_delay_s = 0.0

    @on(Action.remote_start_transaction)
    async def on_remote_start(self, id_tag: str, **kwargs: Any) -> Any:
        self.received.append(("RemoteStartTransaction", {"id_tag": id_tag, **kwargs}))
        await asyncio.sleep(self.start_answer_delay_s)
        return call_result.RemoteStartTransaction(status="Accepted")

    def _spawn(self, work: Any) -> None:
        task = asyncio.create_task(work)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _status(self, value: str, minutes: float) -> None:
        await self.call(
            call.StatusNotification(
                connector_id=1, error_code="NoError", status=value, timestamp=self.stamp(minutes)
            )
        )

    @on_after(Action.remote_start_transaction)
    def after_remote_start(self, id_tag: str, **kwargs: Any) -> None:
        async def run() -> None:
            started = await self.start_tx(id_tag, meter_start=0, minutes=1)
            self.transaction_id = started.transaction_id
            await self._status("Charging", 1)
            await self.meter(started.transaction_id, 7_400, minutes=21)

        self._spawn(run())

    @on_after(Action.remote_stop_transaction)
    def after_remote_stop(self, transaction_id: int) -> None:
        async def run() -> None:
            await self.stop_tx(transaction_id, 11_000, minutes=31, id_tag=None)
            await self._status("Finishing", 31)
            await self._status("Available", 32)

        self._spawn(run())


@dataclass
class Site:
    server: LiveServer
    charger: PluggedCharger
    worker: JobWorker

    mail_dir: Path

    async def run_jobs(self) -> None:
        while await self.worker.run_once(now=self.server.clock.now()):
            pass

    def mails(self) -> list[str]:
        return sorted(path.read_text() for path in self.mail_dir.glob("*.eml"))


@asynccontextmanager
async def running_site(
    context: ServiceContext, clock: FixedClock, tmp_path: Path, *, command_timeout_s: float = 5.0
) -> AsyncIterator[Site]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    runtime = server_payments(
        config=ProviderSettings(
            psp="sandbox",
            public_base_url=base,
            sandbox_database_url=f"sqlite+aiosqlite:///{tmp_path / 'sandbox-psp.sqlite3'}",
            slow_capture_s=0.2,
        ),
        clock=clock,
    )
    app, gateway = create_app(
        context=context, command_timeout_s=command_timeout_s, payments=runtime
    )
    worker = JobWorker(
        context=context,
        registry=job_registry(
            settings=Settings(mail_dir=str(tmp_path / "mail"), public_base_url=base),
            provider=runtime.provider,
        ),
        lease=timedelta(minutes=5),
    )
    config = uvicorn.Config(app, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    live = LiveServer(base_url=base, ws_url=f"ws://127.0.0.1:{port}/ocpp", gateway=gateway,
                      clock=clock)  # fmt: skip
    connection = await connect(live, "CP-1")
    charger = PluggedCharger("CP-1", connection, clock=clock)
    charger_task = asyncio.create_task(charger.start())
    try:
        await charger.boot()
        await charger._status("Available", 0)
        yield Site(server=live, charger=charger, worker=worker, mail_dir=tmp_path / "mail")
    finally:
        charger_task.cancel()
        await connection.close()
        server.should_exit = True
        await asyncio.wait_for(task, timeout=10)
