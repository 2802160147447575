"""The `evbilling` command line: reads the settings once, serves, migrates, runs the demo,
and mounts each slice's commands."""

from __future__ import annotations

import asyncio
import json
from typing import Annotated

import typer
import uvicorn

from evbilling.access import cli as access_cli
from evbilling.catalog import cli as catalog
from evbilling.charging import cli as charging_cli
from evbilling.commands import cli as commands_cli
from evbilling.config import Settings, load_settings
from evbilling.demo import banner, seed_demo, serve_with_simulated_chargers
from evbilling.infra import cli as infra_cli
from evbilling.infra.db.migrate import upgrade
from evbilling.main import build_application, configure_logging_from, serve, uvicorn_config
from evbilling.rating import cli as rating_cli
from evbilling.simulator.station import SimulationSettings, run_simulation, stations_from_options

app = typer.Typer(
    name="evbilling",
    help="Billing and payments for EV charging.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)


@app.callback()
def configure(ctx: typer.Context) -> None:
    """Read the EVBILLING_* settings once; commands get what they need from them."""
    config = load_settings()
    ctx.obj = config
    infra_cli.use(
        database_url=config.database_url,
        api_url=config.api_url,
        api_key=config.api_key,
        operator_of=access_cli.default_operator,
    )


def _settings(ctx: typer.Context) -> Settings:
    config = ctx.find_root().obj
    assert isinstance(config, Settings), "configure() runs before every command"
    return config


@app.command("serve")
def serve_command(
    ctx: typer.Context,
    host: Annotated[str | None, typer.Option(help="Listen address.")] = None,
    port: Annotated[int | None, typer.Option(help="Listen port.")] = None,
) -> None:
    """Serve the OCPP endpoint (/ocpp/{station_id}) and the API (/api/v1) on one port."""
    config = _settings(ctx)
    if host is not None:
        config.host = host
    if port is not None:
        config.port = port
    serve(settings=config)


@db_app.command("upgrade")
def db_upgrade(ctx: typer.Context, revision: str = "head") -> None:
    """Apply the database migrations (EVBILLING_DATABASE_URL)."""
    upgrade(url=_settings(ctx).database_url, revision=revision)
    typer.echo(f"database at {revision}")


@app.command("demo")
def demo_command(
    ctx: typer.Context,
    stations: Annotated[int, typer.Option(help="Simulated chargers to run.")] = 2,
    simulate: Annotated[bool, typer.Option(help="Run the simulated chargers.")] = True,
) -> None:
    """Migrate, load demo data, print its credentials, serve, and run simulated chargers."""
    config = _settings(ctx)
    configure_logging_from(config)
    upgrade(url=config.database_url)
    credentials = asyncio.run(seed_demo(database_url=config.database_url, stations=stations))
    typer.echo(
        banner(
            database_url=config.database_url,
            host=config.host,
            port=config.port,
            credentials=credentials,
        )
    )

    def make_server() -> uvicorn.Server:
        application = build_application(settings=config)
        return uvicorn.Server(uvicorn_config(application=application, settings=config))

    asyncio.run(
        serve_with_simulated_chargers(
            make_server=make_server,
            ocpp_url=f"ws://{config.host}:{config.port}/ocpp",
            credentials=credentials,
            simulate=simulate,
        )
    )


# Until the simulator slice has its own cli.py.
@app.command("simulate")
def simulate_command(
    url: Annotated[str, typer.Option(help="OCPP base URL; the station id is appended.")] = (
        "ws://127.0.0.1:8080/ocpp"
    ),
    stations: Annotated[int, typer.Option(min=1, help="Number of simulated stations.")] = 1,
    sessions: Annotated[int, typer.Option(min=0, help="Sessions per station.")] = 1,
    id_prefix: Annotated[str, typer.Option(help="Station ids are PREFIX1..PREFIXn.")] = "SIM-",
    password: Annotated[str | None, typer.Option(help="Station password (Basic auth).")] = None,
    id_tag: Annotated[list[str] | None, typer.Option(help="RFID idTags to charge with.")] = None,
    connectors: Annotated[int, typer.Option(min=1, max=8)] = 2,
    time_scale: Annotated[float, typer.Option(help="Simulated seconds per wall second.")] = 60.0,
    seed: Annotated[int | None, typer.Option(help="Random seed for repeatable runs.")] = None,
    as_json: bool = infra_cli.JsonOption,
) -> None:
    """Run simulated OCPP 1.6J chargers against a server."""
    configs = stations_from_options(
        count=stations,
        id_prefix=id_prefix,
        password=password,
        id_tags=id_tag or ["04A1B2C3D4"],
        connectors=connectors,
    )
    report = asyncio.run(
        run_simulation(
            url=url,
            stations=configs,
            settings=SimulationSettings(
                sessions_per_station=sessions, time_scale=time_scale, seed=seed
            ),
        )
    )
    infra_cli.emit(
        report,
        as_json=as_json,
        text=lambda r: json.dumps(infra_cli.to_jsonable(r), indent=2),
    )


app.add_typer(db_app, name="db")
catalog.register(app)
access_cli.register(app)
charging_cli.register(app)
rating_cli.register(app)
commands_cli.register(station_app=catalog.station_app, session_app=charging_cli.session_app)


def main() -> None:
    app()
