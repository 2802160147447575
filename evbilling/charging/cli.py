"""Server, database, demo, API keys, sessions, station commands and the simulator."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from typing import Annotated, Any

import httpx
import typer

from evbilling.access.service import create_api_key
from evbilling.charging import sessions as session_service
from evbilling.charging.queries import SessionFilter
from evbilling.demo import run_demo
from evbilling.infra.cli import JsonOption, emit, run_in_unit_of_work, settings, table
from evbilling.infra.db.migrate import upgrade
from evbilling.infra.db.pagination import PageRequest
from evbilling.main import serve
from evbilling.stations.cli import station_app

db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
apikey_app = typer.Typer(help="Operator API keys.", no_args_is_help=True)
session_app = typer.Typer(help="Charging sessions.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(db_app, name="db")
    app.add_typer(apikey_app, name="apikey")
    app.add_typer(session_app, name="session")
    app.command("serve")(serve_command)
    app.command("demo")(demo_command)
    _register_station_commands(station_app)


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Apply the database migrations (EVBILLING_DATABASE_URL)."""
    upgrade(url=settings().database_url, revision=revision)
    typer.echo(f"database at {revision}")


def serve_command(
    host: Annotated[str | None, typer.Option(help="Listen address.")] = None,
    port: Annotated[int | None, typer.Option(help="Listen port.")] = None,
) -> None:
    """Serve the OCPP endpoint (/ocpp/{station_id}) and the API (/api/v1) on one port."""
    config = settings()
    if host is not None:
        config.host = host
    if port is not None:
        config.port = port
    serve(settings=config)


def demo_command(
    stations: Annotated[int, typer.Option(help="Simulated chargers to run.")] = 2,
    simulate: Annotated[bool, typer.Option(help="Run the simulated chargers.")] = True,
) -> None:
    """Migrate, load demo data, print its credentials, serve, and run simulated chargers."""
    run_demo(config=settings(), simulated_stations=stations, simulate=simulate)


@apikey_app.command("create")
def apikey_create(
    name: Annotated[str, typer.Option(help="What the key is for.")] = "operator",
    as_json: bool = JsonOption,
) -> None:
    """Create an API key; it is shown once and stored only as an argon2 hash."""

    async def work(db: Any, context: Any, operator_id: int) -> Any:
        return await create_api_key(
            db=db, operator_id=operator_id, name=name, now=context.clock.now()
        )

    issued = run_in_unit_of_work(work)
    emit(issued, as_json=as_json, text=lambda k: f"API key {k.id} ({k.name}): {k.key}")


@session_app.command("list")
def session_list(
    station: Annotated[int | None, typer.Option(help="Station id.")] = None,
    driver: Annotated[int | None, typer.Option(help="Driver id.")] = None,
    status: Annotated[str | None, typer.Option(help="active, completed or rejected.")] = None,
    started_from: Annotated[datetime | None, typer.Option("--from")] = None,
    started_before: Annotated[datetime | None, typer.Option("--to")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 50,
    offset: Annotated[int, typer.Option(min=0)] = 0,
    as_json: bool = JsonOption,
) -> None:
    """List charging sessions, newest first."""

    async def work(db: Any, context: Any, operator_id: int) -> Any:
        return await session_service.list_sessions(
            db=db,
            where=SessionFilter(
                operator_id=operator_id,
                station_id=station,
                driver_id=driver,
                status=status,
                started_from=_aware(started_from),
                started_before=_aware(started_before),
            ),
            page=PageRequest(limit=limit, offset=offset),
        )

    page = run_in_unit_of_work(work)
    columns = [
        "id",
        "station_identity",
        "connector_id",
        "status",
        "started_at",
        "energy_wh",
        "cost_incl_vat",
        "currency",
    ]
    emit(
        page,
        as_json=as_json,
        text=lambda p: (
            table([_row(item) for item in p.items], columns=columns) + f"\n{p.total} session(s)"
        ),
    )


def _row(item: Any) -> dict[str, Any]:
    from dataclasses import asdict

    return asdict(item)


def _aware(moment: datetime | None) -> datetime | None:
    from datetime import UTC

    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


@session_app.command("show")
def session_show(session_id: int, as_json: bool = JsonOption) -> None:
    """A session with its price breakdown, meter samples and anomalies."""

    async def work(db: Any, context: Any, operator_id: int) -> Any:
        return await session_service.get_session(
            db=db, operator_id=operator_id, session_id=session_id
        )

    detail = run_in_unit_of_work(work)

    def text(d: Any) -> str:
        s = d.summary
        lines = [
            f"session {s.id} at {s.station_identity} connector {s.connector_id}: {s.status}",
            f"  started {s.started_at.isoformat()}  stopped "
            f"{s.stopped_at.isoformat() if s.stopped_at else '-'}  ({s.duration_s or 0} s)",
            f"  energy {s.energy_wh if s.energy_wh is not None else '-'} Wh",
        ]
        breakdown = d.cost_breakdown or {}
        if "error" in breakdown:
            lines.append(f"  not priced: {breakdown['error']}")
        for line in breakdown.get("lines", []):
            lines.append(
                f"  {line['description']}: {line['quantity']} {line['unit']} x "
                f"{line['unit_price']} = {line['amount_excl_vat']}"
            )
        if s.cost_excl_vat is not None:
            incl = f", {s.cost_incl_vat} incl. VAT" if s.cost_incl_vat is not None else ""
            lines.append(f"  total {s.cost_excl_vat} {s.currency} excl. VAT{incl}")
        lines.append(f"  {len(d.meter_samples)} meter samples, {len(d.anomalies)} anomalies")
        lines += [f"  anomaly {a.kind}: {a.detail}" for a in d.anomalies]
        return "\n".join(lines)

    emit(detail, as_json=as_json, text=text)


# -- commands through the running server's API ---------------------------------------------


def _api(method: str, path: str, body: dict[str, Any] | None, timeout: float) -> Any:
    config = settings()
    if not config.api_key:
        typer.secho(
            "error: set EVBILLING_API_KEY (see `evbilling apikey create`)",
            fg=typer.colors.RED,
            err=True,
        )
        raise typer.Exit(code=2)
    try:
        response = httpx.request(
            method,
            f"{config.api_url.rstrip('/')}/api/v1{path}",
            json=body,
            params={"timeout": timeout},
            timeout=timeout + 5,
            headers={"Authorization": f"Bearer {config.api_key}"},
        )
    except httpx.HTTPError as exc:
        typer.secho(f"error: cannot reach {config.api_url}: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(code=1) from exc
    data = response.json()
    if response.status_code >= 400:
        typer.secho(
            f"error: {data.get('title')}: {data.get('detail')}", fg=typer.colors.RED, err=True
        )
        raise typer.Exit(code=1)
    return data


def _command(
    station_id: int, name: str, body: dict[str, Any] | None, timeout: float, as_json: bool
) -> None:
    data = _api("POST", f"/stations/{station_id}/commands/{name}", body, timeout)
    if as_json:
        sys.stdout.write(json.dumps(data, indent=2) + "\n")
    else:
        sys.stdout.write(
            f"{data['station_identity']} answered {data['action']}: "
            f"{json.dumps(data['response'])}\n"
        )


TimeoutOption = typer.Option(30.0, "--timeout", help="Seconds to wait for the station.")


def _register_station_commands(station_app: typer.Typer) -> None:
    @station_app.command("remote-start")
    def remote_start(
        station_id: int,
        id_tag: Annotated[str, typer.Option()],
        connector: Annotated[int | None, typer.Option()] = None,
        timeout: float = TimeoutOption,
        as_json: bool = JsonOption,
    ) -> None:
        """RemoteStartTransaction."""
        body: dict[str, Any] = {"id_tag": id_tag, "connector_id": connector}
        _command(station_id, "remote-start", body, timeout, as_json)

    @station_app.command("remote-stop")
    def remote_stop(
        station_id: int,
        transaction: Annotated[int, typer.Option()],
        timeout: float = TimeoutOption,
        as_json: bool = JsonOption,
    ) -> None:
        """RemoteStopTransaction."""
        _command(station_id, "remote-stop", {"transaction_id": transaction}, timeout, as_json)

    @station_app.command("reset")
    def reset(
        station_id: int,
        hard: Annotated[bool, typer.Option("--hard")] = False,
        timeout: float = TimeoutOption,
        as_json: bool = JsonOption,
    ) -> None:
        """Reset (soft unless --hard)."""
        _command(station_id, "reset", {"type": "Hard" if hard else "Soft"}, timeout, as_json)

    @station_app.command("unlock")
    def unlock(
        station_id: int,
        connector: Annotated[int, typer.Option()],
        timeout: float = TimeoutOption,
        as_json: bool = JsonOption,
    ) -> None:
        """UnlockConnector."""
        _command(station_id, "unlock-connector", {"connector_id": connector}, timeout, as_json)

    @station_app.command("availability")
    def availability(
        station_id: int,
        type: Annotated[str, typer.Option(help="Operative or Inoperative")],
        connector: Annotated[int, typer.Option()] = 0,
        timeout: float = TimeoutOption,
        as_json: bool = JsonOption,
    ) -> None:
        """ChangeAvailability (connector 0 = the whole station)."""
        body = {"connector_id": connector, "type": type}
        _command(station_id, "change-availability", body, timeout, as_json)

    @station_app.command("get-config")
    def get_config(
        station_id: int,
        key: Annotated[list[str] | None, typer.Option()] = None,
        timeout: float = TimeoutOption,
        as_json: bool = JsonOption,
    ) -> None:
        """GetConfiguration (all keys unless --key is given)."""
        _command(station_id, "get-configuration", {"keys": key or []}, timeout, as_json)

    @station_app.command("set-config")
    def set_config(
        station_id: int,
        key: Annotated[str, typer.Option()],
        value: Annotated[str, typer.Option()],
        timeout: float = TimeoutOption,
        as_json: bool = JsonOption,
    ) -> None:
        """ChangeConfiguration."""
        _command(station_id, "change-configuration", {"key": key, "value": value}, timeout, as_json)

    @station_app.command("trigger")
    def trigger(
        station_id: int,
        message: Annotated[
            str,
            typer.Option(help="BootNotification, Heartbeat, MeterValues, StatusNotification, ..."),
        ],
        connector: Annotated[int | None, typer.Option()] = None,
        timeout: float = TimeoutOption,
        as_json: bool = JsonOption,
    ) -> None:
        """TriggerMessage."""
        body: dict[str, Any] = {"requested_message": message, "connector_id": connector}
        _command(station_id, "trigger-message", body, timeout, as_json)

    @station_app.command("clear-cache")
    def clear_cache(
        station_id: int, timeout: float = TimeoutOption, as_json: bool = JsonOption
    ) -> None:
        """ClearCache."""
        _command(station_id, "clear-cache", None, timeout, as_json)


@session_app.command("stop")
def session_stop(
    session_id: int, timeout: float = TimeoutOption, as_json: bool = JsonOption
) -> None:
    """Ask the station to stop a running session (RemoteStopTransaction)."""
    data = _api("POST", f"/sessions/{session_id}/stop", None, timeout)
    emit(
        data,
        as_json=as_json,
        text=lambda d: f"{d['station_identity']} answered: {json.dumps(d['response'])}",
    )
