"""`evbilling simulate`: run simulated OCPP 1.6J chargers against a server and print the
report as JSON."""

from __future__ import annotations

import asyncio
import json
import sys
from dataclasses import asdict
from datetime import datetime
from typing import Annotated

import typer

from evbilling.simulator.fleet import run_simulation, stations_from_options
from evbilling.simulator.settings import SimulationSettings


def register(app: typer.Typer) -> None:
    app.command("simulate")(simulate_command)


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
    # The report is JSON either way; the flag is accepted like every other command's.
    as_json: Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")] = False,
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
    sys.stdout.write(json.dumps(asdict(report), indent=2, default=_json_value) + "\n")


def _json_value(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"not JSON serializable: {type(value).__name__}")
