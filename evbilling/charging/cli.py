"""`evbilling session list|show|close|close-abandoned|reprice-failed` and `evbilling rerate`
(past sessions under a proposed tariff)."""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Protocol, runtime_checkable

import typer

from evbilling.charging import ending
from evbilling.charging import sessions as session_service
from evbilling.charging.domain import MAX_END_REASON_LENGTH, PricingStatus, SessionStatus
from evbilling.charging.read_repository import SessionFilter
from evbilling.charging.rerate import RerateReport, rerate
from evbilling.charging.schemas import SessionDetailRead, SessionPage
from evbilling.infra.cli import JsonOption, emit, run_command, run_in_unit_of_work, table
from evbilling.tariffs.domain import dumps_ocpi, loads_ocpi

session_app = typer.Typer(help="Charging sessions.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(session_app, name="session")
    app.command("rerate")(rerate_command)


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _aware(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


_LIST_COLUMNS = [
    "id",
    "station_identity",
    "transaction_id",
    "connector_id",
    "status",
    "started_at",
    "energy_wh",
    "cost_incl_vat",
    "currency",
    "pricing_status",
]


@session_app.command("list")
def session_list(
    station: Annotated[int | None, typer.Option(help="Station id.")] = None,
    driver: Annotated[int | None, typer.Option(help="Driver id.")] = None,
    status: Annotated[SessionStatus | None, typer.Option(help="Session status.")] = None,
    pricing_status: Annotated[
        PricingStatus | None,
        typer.Option("--pricing-status", help="failed: the sessions whose pricing failed."),
    ] = None,
    started_from: Annotated[datetime | None, typer.Option("--from")] = None,
    started_before: Annotated[datetime | None, typer.Option("--to")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 50,
    offset: Annotated[int, typer.Option(min=0)] = 0,
    after: Annotated[
        int | None, typer.Option(min=1, help="The next_after of the previous page.")
    ] = None,
    as_json: bool = JsonOption,
) -> None:
    """List charging sessions, newest first."""

    async def work(db: Any, context: Any, operator_id: int) -> SessionPage:
        return await session_service.list_sessions(
            db=db,
            where=SessionFilter(
                operator_id=operator_id,
                station_id=station,
                driver_id=driver,
                status=status.value if status is not None else None,
                pricing_status=pricing_status.value if pricing_status is not None else None,
                started_from=_aware(started_from),
                started_before=_aware(started_before),
            ),
            limit=limit,
            offset=offset,
            after=after,
        )

    page = run_in_unit_of_work(work)
    emit(page, as_json=as_json, text=_page_text)


def _page_text(page: SessionPage) -> str:
    text = table([item.model_dump() for item in page.items], columns=_LIST_COLUMNS)
    for item in page.items:
        if item.pricing_error is not None:
            text += f"\nsession {item.id} not priced: {item.pricing_error}"
    if page.total is not None:
        text += f"\n{page.total} session(s)"
    if page.next_after is not None:
        text += f"\nmore: --after {page.next_after}"
    return text


@session_app.command("show")
def session_show(session_id: int, as_json: bool = JsonOption) -> None:
    """A session with its price breakdown, meter samples and anomalies."""

    async def work(db: Any, context: Any, operator_id: int) -> SessionDetailRead:
        return await session_service.get_session(
            db=db, operator_id=operator_id, session_id=session_id
        )

    emit(run_in_unit_of_work(work), as_json=as_json, text=_detail_text)


def _detail_text(s: SessionDetailRead) -> str:
    lines = [
        f"session {s.id} at {s.station_identity} connector {s.connector_id}: {s.status}",
        f"  started {s.started_at.isoformat()}  stopped "
        f"{s.stopped_at.isoformat() if s.stopped_at else '-'}  ({s.duration_s or 0} s)",
        f"  transaction {s.transaction_id}  energy "
        f"{s.energy_wh if s.energy_wh is not None else '-'} Wh  pricing {s.pricing_status}",
    ]
    if s.end_reason is not None:
        lines.append(f"  ended: {s.end_reason}")
    if s.payment_kind is not None:
        lines.append(f"  paid by {s.payment_kind}: {s.payment_reason or '-'}")
    if s.spending_limit is not None:
        reached = f", reached {s.limit_reached_at.isoformat()}" if s.limit_reached_at else ""
        lines.append(f"  spending limit {s.spending_limit} {s.currency}{reached}")
    if s.completed_at is not None:
        left = s.occupied_until.isoformat() if s.occupied_until else "-"
        lines.append(f"  car left {left}; amount final {s.completed_at.isoformat()}")
    if s.pricing_error is not None:
        lines.append(f"  not priced: {s.pricing_error}")
    breakdown = s.cost_breakdown or {}
    for line in breakdown.get("lines", []):
        lines.append(
            f"  {line['description']}: {line['quantity']} {line['unit']} x "
            f"{line['unit_price']} = {line['amount_excl_vat']}"
        )
    if s.cost_excl_vat is not None:
        incl = f", {s.cost_incl_vat} incl. VAT" if s.cost_incl_vat is not None else ""
        lines.append(f"  total {s.cost_excl_vat} {s.currency} excl. VAT{incl}")
    lines.append(f"  {len(s.meter_samples)} meter samples, {len(s.anomalies)} anomalies")
    lines += [f"  anomaly {a.kind}: {a.detail}" for a in s.anomalies]
    return "\n".join(lines)


@session_app.command("close")
def session_close(
    session_id: int,
    reason: Annotated[
        str,
        typer.Option(help=f"Why (one line, at most {MAX_END_REASON_LENGTH} characters)."),
    ],
    as_json: bool = JsonOption,
) -> None:
    """Close an active session the station no longer knows; it is priced up to its last
    meter reading."""

    async def work(db: Any, context: Any, operator_id: int) -> SessionDetailRead:
        return await ending.close_session(
            db=db,
            operator_id=operator_id,
            session_id=session_id,
            reason=reason,
            now=context.clock.now(),
        )

    emit(run_command(work), as_json=as_json, text=_detail_text)


@runtime_checkable
class _AbandonSettings(Protocol):
    """What the root command's settings give these commands."""

    session_abandon_after_s: float


def _abandon_after(ctx: typer.Context) -> timedelta:
    settings = ctx.find_root().obj
    if not isinstance(settings, _AbandonSettings):
        raise typer.BadParameter("no settings: pass --silent-for-s", param_hint="--silent-for-s")
    return timedelta(seconds=settings.session_abandon_after_s)


@session_app.command("close-abandoned")
def session_close_abandoned(
    ctx: typer.Context,
    silent_for_s: Annotated[
        float | None,
        typer.Option(
            min=1, help="Seconds of silence (default: EVBILLING_SESSION_ABANDON_AFTER_S)."
        ),
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = ending.ABANDON_BATCH,
) -> None:
    """Close, as abandoned, the active sessions of every operator nothing was heard about
    for the abandon time (the job does this on a running server)."""
    silent_for = timedelta(seconds=silent_for_s) if silent_for_s else _abandon_after(ctx)

    async def work(db: Any, context: Any, operator_id: int) -> int:
        return await ending.close_abandoned_sessions(
            db=db, now=context.clock.now(), silent_for=silent_for, limit=limit
        )

    typer.echo(f"{run_in_unit_of_work(work)} abandoned session(s) closed")


@session_app.command("reprice-failed")
def session_reprice_failed(
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 100,
) -> None:
    """Price again the ended sessions (of every operator) whose pricing failed."""

    async def work(db: Any, context: Any, operator_id: int) -> int:
        return await ending.retry_failed_pricing(db=db, now=context.clock.now(), limit=limit)

    typer.echo(f"{run_in_unit_of_work(work)} session(s) priced")


def _read_tariff(path: Path) -> Any:
    try:
        return loads_ocpi(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise typer.BadParameter(f"cannot read tariff {path}: {exc.strerror}") from exc
    except ValueError as exc:
        raise typer.BadParameter(f"tariff {path} is not JSON: {exc}") from exc


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
    document = _read_tariff(tariff)

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
