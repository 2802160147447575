"""The `evbilling` command line: server, database, demo, admin objects, station commands."""

from __future__ import annotations

import typer

from evbilling.charging import cli as operations
from evbilling.drivers import cli as drivers
from evbilling.locations import cli as locations
from evbilling.rating import cli as pricing
from evbilling.simulator import cli as simulator
from evbilling.stations import cli as stations
from evbilling.tariffs import cli as tariffs

app = typer.Typer(
    name="evbilling",
    help="Billing and payments for EV charging.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
locations.register(app)
stations.register(app)
drivers.register(app)
tariffs.register(app)
operations.register(app)
pricing.register(app)
simulator.register(app)


def main() -> None:
    app()
