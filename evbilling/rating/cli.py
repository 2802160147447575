"""Auditing and what-if commands: `evbilling rate` and `evbilling rerate`."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from evbilling.charging.rerate import RerateReport, rerate
from evbilling.infra.cli import JsonOption, emit, run_in_unit_of_work, table
from evbilling.kit import EVBillingError
from evbilling.rating.engine import rate_ocpi_cdr
from evbilling.tariffs.domain import dumps_ocpi, loads_ocpi


def register(app: typer.Typer) -> None:
    app.command("rate")(rate_command)
    app.command("rerate")(rerate_command)


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
    `audit` compares it with the CDR's own total_cost."""
    cdr_json = _read_json(cdr, "CDR")
    tariff_json = _read_json(tariff, "tariff") if tariff is not None else _carried_tariff(cdr_json)
    try:
        priced = rate_ocpi_cdr(tariff_json=tariff_json, cdr_json=cdr_json, time_zone=tz)
    except EVBillingError as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(code=1) from exc
    sys.stdout.write(dumps_ocpi(priced, indent=2) + "\n")


def _carried_tariff(cdr_json: Any) -> Any:
    carried = cdr_json.get("tariffs") if isinstance(cdr_json, dict) else None
    if not isinstance(carried, list) or not carried:
        raise typer.BadParameter("the CDR carries no tariffs; pass --tariff", param_hint="--tariff")
    periods = cdr_json.get("charging_periods") or [{}]
    wanted = periods[0].get("tariff_id") if isinstance(periods[0], dict) else None
    matching = [t for t in carried if isinstance(t, dict) and t.get("id") == wanted]
    return (matching or carried)[0]


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def rerate_command(
    tariff: Annotated[Path, typer.Option(help="Proposed OCPI 2.2.1 Tariff JSON file.")],
    started_from: Annotated[datetime, typer.Option("--from", help="Sessions started from (UTC).")],
    started_before: Annotated[datetime, typer.Option("--to", help="... and before (UTC).")],
    station: Annotated[int | None, typer.Option(help="Only this station id.")] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run/--apply", help="Report only (the only mode).")
    ] = True,
    as_json: bool = JsonOption,
) -> None:
    """Price past sessions under a proposed tariff; report revenue per station and the
    difference to what was billed. Billed sessions are never changed."""
    if not dry_run:
        typer.secho(
            "error: re-rating only reports; billed sessions keep the price they were billed",
            fg=typer.colors.RED,
            err=True,
        )
        raise typer.Exit(code=2)
    document = _read_json(tariff, "tariff")

    async def work(db: Any, context: Any, operator_id: int) -> RerateReport:
        return await rerate(
            db=db,
            operator_id=operator_id,
            tariff_document=document,
            started_from=_utc(started_from),
            started_before=_utc(started_before),
            station_id=station,
        )

    report = run_in_unit_of_work(work)
    if as_json:
        sys.stdout.write(dumps_ocpi(_report_json(report), indent=2) + "\n")
        return
    emit(report, as_json=False, text=_report_text)


def _report_json(report: RerateReport) -> dict[str, Any]:
    return {
        "currency": report.currency,
        "from": report.started_from.isoformat(),
        "to": report.started_before.isoformat(),
        "stations": [
            {
                "station_id": s.station_id,
                "station_identity": s.station_identity,
                "sessions": s.sessions,
                "billed_excl_vat": s.billed_excl_vat,
                "proposed_excl_vat": s.proposed_excl_vat,
                "difference_excl_vat": s.difference_excl_vat,
                "billed_incl_vat": s.billed_incl_vat,
                "proposed_incl_vat": s.proposed_incl_vat,
            }
            for s in report.stations
        ],
        "totals": report.totals(),
        "skipped": report.skipped,
    }


def _report_text(report: RerateReport) -> str:
    rows = [
        {
            "station": s.station_identity,
            "sessions": s.sessions,
            "billed": s.billed_excl_vat,
            "proposed": s.proposed_excl_vat,
            "difference": s.difference_excl_vat,
        }
        for s in report.stations
    ]
    totals = report.totals()
    rows.append(
        {
            "station": "TOTAL",
            "sessions": totals["sessions"],
            "billed": totals["billed_excl_vat"],
            "proposed": totals["proposed_excl_vat"],
            "difference": totals["difference_excl_vat"],
        }
    )
    text = table(rows, columns=["station", "sessions", "billed", "proposed", "difference"])
    skipped = ", ".join(f"{count} {why}" for why, count in report.skipped.items())
    return (
        f"revenue excl. VAT in {report.currency}, sessions started "
        f"{report.started_from.isoformat()} to {report.started_before.isoformat()}\n{text}"
        + (f"\nskipped: {skipped}" if skipped else "")
    )
