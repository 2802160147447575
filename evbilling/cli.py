"""The `evbilling` command line: server, database, demo, admin objects, station commands."""

from __future__ import annotations

import typer

from evbilling.catalog import cli as catalog
from evbilling.charging import cli as operations
from evbilling.rating import cli as pricing
from evbilling.simulator import cli as simulator

app = typer.Typer(
    name="evbilling",
    help="Billing and payments for EV charging.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
catalog.register(app)
operations.register(app)
pricing.register(app)
simulator.register(app)


def main() -> None:
    app()
