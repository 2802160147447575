"""The `evbilling` command line: reads the settings once, serves, migrates, runs the demo,
and mounts each slice's commands."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
import uvicorn

from evbilling.access import cli as access_cli
from evbilling.charging import cli as charging_cli
from evbilling.commands import cli as commands_cli
from evbilling.config import Settings, load_settings
from evbilling.demo import banner, seed_demo, serve_with_simulated_chargers
from evbilling.drivers import cli as drivers_cli
from evbilling.infra import cli as infra_cli
from evbilling.infra.db.migrate import upgrade
from evbilling.infra.jobs import JobRegistry
from evbilling.infra.jobs import cli as jobs_cli
from evbilling.infra.mail import cli as mail_cli
from evbilling.infra.secrets import ApiKeySecretError
from evbilling.kit import SystemClock
from evbilling.ledger import cli as ledger_cli
from evbilling.locations import cli as locations_cli
from evbilling.main import build_application, job_registry, serve, uvicorn_config
from evbilling.ocpp import cli as ocpp_cli
from evbilling.payments import choice_cli
from evbilling.payments import cli as payments_cli
from evbilling.payments import wallet_cli as payments_wallet_cli
from evbilling.payments.providers import PaymentsRuntime, process_payments
from evbilling.postpaid import cli as postpaid_cli
from evbilling.rating import cli as rating_cli
from evbilling.simulator import cli as simulator_cli
from evbilling.stations import cli as stations_cli
from evbilling.tariffs import cli as tariffs_cli
from evbilling.wallets import cli as wallets_cli
from evbilling.wallets.domain import WalletLimits
from evbilling.web import cli as web_cli
from evbilling.wiring import (
    api_key_hasher,
    configure_logging_from,
    provider_settings,
    public_base_url,
    wallet_limits_of,
)

app = typer.Typer(
    name="evbilling",
    help="Billing and payments for EV charging.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)


# The settings configure() read, for what is built outside a command's context (job kinds).
_read: Settings | None = None


@app.callback()
def configure(ctx: typer.Context) -> None:
    """Read the EVBILLING_* settings once; commands get what they need from them."""
    global _read
    config = load_settings()
    ctx.obj = _read = config
    infra_cli.use(
        database_url=config.database_url,
        api_url=config.api_url,
        api_key=config.api_key,
        operator_of=access_cli.default_operator,
        api_keys=api_key_hasher(config),
    )


def _job_registry() -> JobRegistry:
    """The server's job kinds, built from the settings this command read."""
    assert _read is not None, "configure() runs before every command"
    return job_registry(settings=_read)


def _payment_provider() -> PaymentsRuntime:
    """The provider as this command reaches it (the sandbox's database, or Stripe)."""
    assert _read is not None, "configure() runs before every command"
    return process_payments(config=provider_settings(_read), clock=SystemClock())


def _wallet_limits() -> WalletLimits:
    assert _read is not None, "configure() runs before every command"
    return wallet_limits_of(_read)


def _public_url() -> str:
    assert _read is not None, "configure() runs before every command"
    return public_base_url(_read)


@contextmanager
def _settings_errors() -> Iterator[None]:
    """A setting the server cannot start without ends the command with its message."""
    try:
        yield
    except ApiKeySecretError as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(code=2) from exc


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
    with _settings_errors():
        api_key_hasher(config).load()  # before anything starts: the server cannot run without
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
    with _settings_errors():
        api_keys = api_key_hasher(config)
        api_keys.load()
    upgrade(url=config.database_url)
    credentials = asyncio.run(
        seed_demo(database_url=config.database_url, stations=stations, api_keys=api_keys)
    )
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


app.add_typer(db_app, name="db")
locations_cli.register(app)
stations_cli.register(app)
drivers_cli.register(app)
tariffs_cli.register(app)
access_cli.register(app)
charging_cli.register(app)
rating_cli.register(app)
commands_cli.register(station_app=stations_cli.station_app, session_app=charging_cli.session_app)
simulator_cli.register(app)
jobs_cli.register(app, registry=_job_registry)
mail_cli.register(app)
ocpp_cli.register(app)
payments_cli.register(app, provider=_payment_provider, public_url=_public_url)
choice_cli.register(operator_app=access_cli.operator_app)
ledger_cli.register(app)
postpaid_cli.register(app)
wallets_cli.register(app, limits=_wallet_limits)
payments_wallet_cli.register(wallets_cli.wallet_app)
web_cli.register(station_app=stations_cli.station_app, public_url=_public_url)


def main() -> None:
    app()
