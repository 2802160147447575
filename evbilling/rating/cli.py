"""Auditing: `evbilling rate` prices an OCPI CDR with an OCPI tariff, offline."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from evbilling.kit import EVBillingError
from evbilling.rating.engine import InvalidCdr, rate_ocpi_cdr
from evbilling.tariffs.domain import InvalidTariff, dumps_ocpi, loads_ocpi


def register(app: typer.Typer) -> None:
    app.command("rate")(rate_command)


def _read_json(path: Path, what: str) -> Any:
    try:
        return loads_ocpi(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise typer.BadParameter(f"cannot read {what} {path}: {exc.strerror}") from exc
    except ValueError as exc:
        raise typer.BadParameter(f"{what} {path} is not JSON: {exc}") from exc


def rate_command(
    cdr: Annotated[Path, typer.Option(help="OCPI 2.2.1 CDR JSON file (its charging periods).")],
    tariff: Annotated[
        Path | None,
        typer.Option(help="OCPI 2.2.1 Tariff JSON file; default: the tariff the CDR carries."),
    ] = None,
    tz: Annotated[
        str | None, typer.Option("--tz", help="Station time zone (IANA), for local-time rules.")
    ] = None,
) -> None:
    """Price an OCPI CDR with an OCPI tariff and print the result as JSON (exact decimals);
    `audit` compares it with the CDR's own total_cost. Exit 2: the tariff or CDR is invalid
    (every field named on stderr)."""
    cdr_json = _read_json(cdr, "CDR")
    tariff_json = _read_json(tariff, "tariff") if tariff is not None else _carried_tariff(cdr_json)
    try:
        priced = rate_ocpi_cdr(tariff_json=tariff_json, cdr_json=cdr_json, time_zone=tz)
    except EVBillingError as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        # A malformed or out-of-bounds document is a usage error; a session the tariff
        # cannot price (not valid then, ...) is a failure.
        raise typer.Exit(code=2 if isinstance(exc, InvalidTariff | InvalidCdr) else 1) from exc
    for warning in priced.get("warnings", []):
        typer.secho(f"warning: {warning}", fg=typer.colors.YELLOW, err=True)
    sys.stdout.write(dumps_ocpi(priced, indent=2) + "\n")


def _carried_tariff(cdr_json: Any) -> Any:
    carried = cdr_json.get("tariffs") if isinstance(cdr_json, dict) else None
    if not isinstance(carried, list) or not carried:
        raise typer.BadParameter("the CDR carries no tariffs; pass --tariff", param_hint="--tariff")
    periods = cdr_json.get("charging_periods") or [{}]
    wanted = periods[0].get("tariff_id") if isinstance(periods[0], dict) else None
    matching = [t for t in carried if isinstance(t, dict) and t.get("id") == wanted]
    return (matching or carried)[0]
