"""The guest's pay pages, mounted at /pay (docs/adhoc-payment.md):

    GET  /pay/{evse}                 station, status, tariff in plain words, the hold
    GET  /pay/{evse}/qr.png|qr.svg   the QR code of that page
    POST /pay/{evse}                 "Pay and charge": a guest payer -> the provider's card page
    GET  /pay/{evse}/p/{token}/return   back from the card page (changes nothing)
    POST /pay/{evse}/p/{token}/start    the hold, then RemoteStartTransaction
    GET  /pay/{evse}/p/{token}          the live session (meta refresh, or polling)
    GET  /pay/{evse}/p/{token}/status.json
    POST /pay/{evse}/p/{token}/stop     RemoteStopTransaction
    GET  /pay/{evse}/p/{token}/receipt  the session's final summary

Every state change is a POST; after the first, to a URL with the payment's unguessable
token. Provider calls and station commands run with no transaction open.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import parse_qs

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

from evbilling.commands import service as commands
from evbilling.commands.domain import RemoteStart
from evbilling.infra.context import ServiceContext
from evbilling.infra.http.addresses import client_address
from evbilling.infra.logging import get_logger
from evbilling.infra.station_link import StationNotConnected, StationTimeout
from evbilling.kit import EVBillingError, InvalidRequest, NotFound
from evbilling.models import AdhocPayment, CardSetup
from evbilling.payments import adhoc, card_setup, receipts
from evbilling.payments.domain import HoldPolicy
from evbilling.payments.providers import PaymentsRuntime
from evbilling.web.budget import AddressBudget
from evbilling.web.qr import pay_url, qr_png, qr_svg
from evbilling.web.rendering import PAGE_HEADERS, STATIC_DIR, message_page, page
from evbilling.web.words import card_note, energy_text, money_text, tariff_lines

PREFIX = "/pay"
_TOKEN = re.compile(r"[A-Za-z0-9_-]{20,64}")
_MAX_FORM = 2048
_log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class PaySite:
    context: ServiceContext
    payments: PaymentsRuntime | None
    policy: HoldPolicy
    command_timeout_s: float
    budget: AddressBudget = field(default_factory=AddressBudget)


def create_pay_site(
    *,
    context: ServiceContext,
    payments: PaymentsRuntime | None,
    policy: HoldPolicy = HoldPolicy(),
    command_timeout_s: float = 30.0,
) -> FastAPI:
    site = FastAPI(title="evbilling pay", docs_url=None, redoc_url=None, openapi_url=None)
    site.state.pay = PaySite(
        context=context, payments=payments, policy=policy, command_timeout_s=command_timeout_s
    )
    site.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    _errors(site)
    _routes(site)
    return site


def _site(request: Request) -> PaySite:
    found: PaySite = request.app.state.pay
    return found


def _errors(site: FastAPI) -> None:
    @site.exception_handler(NotFound)
    async def not_found(request: Request, exc: Exception) -> Response:
        return message_page(
            "Not found", "There is no charger or payment at this address.", status_code=404
        )

    @site.exception_handler(InvalidRequest)
    async def invalid(request: Request, exc: Exception) -> Response:
        return message_page("Please check your entry", str(exc), status_code=422)

    @site.exception_handler(EVBillingError)
    async def refused(request: Request, exc: Exception) -> Response:
        return message_page("Not possible right now", str(exc), status_code=409)


def _status(raw: str | None, connected: bool) -> tuple[str, str]:
    if not connected:
        return "Offline", "bad"
    text = raw or "Unknown"
    kind = {"Available": "ok", "Preparing": "ok", "Faulted": "bad", "Unavailable": "bad"}
    return text, kind.get(text, "busy" if raw else "unknown")


def _paths(evse_uid: str, token: str) -> dict[str, str]:
    base = f"{PREFIX}/{evse_uid}/p/{token}"
    return {
        "live": base,
        "start": base + "/start",
        "stop": base + "/stop",
        "poll": base + "/status.json",
        "receipt": base + "/receipt",
        "return": base + "/return",
    }


def _check_token(token: str) -> None:
    if not _TOKEN.fullmatch(token):
        raise NotFound(kind="payment", key="?")


def _routes(site: FastAPI) -> None:
    @site.get("/{evse_uid}")
    async def evse_page(request: Request, evse_uid: str) -> Response:
        return await _offer_page(_site(request), evse_uid)

    @site.get("/{evse_uid}/qr.png")
    async def qr_png_page(request: Request, evse_uid: str) -> Response:
        url = await _pay_url(request, evse_uid)
        return Response(
            qr_png(url), media_type="image/png", headers={"Cache-Control": "max-age=300"}
        )

    @site.get("/{evse_uid}/qr.svg")
    async def qr_svg_page(request: Request, evse_uid: str) -> Response:
        url = await _pay_url(request, evse_uid)
        return Response(
            qr_svg(url), media_type="image/svg+xml", headers={"Cache-Control": "max-age=300"}
        )

    @site.post("/{evse_uid}")
    async def begin(request: Request, evse_uid: str) -> Response:
        return await _begin(_site(request), request, evse_uid)

    @site.get("/{evse_uid}/p/{token}/return")
    async def back_from_card_page(request: Request, evse_uid: str, token: str) -> Response:
        _check_token(token)
        async with _site(request).context.unit_of_work() as db:
            await adhoc.get_payment(db=db, evse_uid=evse_uid, page_token=token)
        paths = _paths(evse_uid.upper(), token)
        return page("continue.html", action=paths["start"])

    @site.post("/{evse_uid}/p/{token}/start")
    async def start(request: Request, evse_uid: str, token: str) -> Response:
        _check_token(token)
        await _start(_site(request), evse_uid, token)
        return RedirectResponse(_paths(evse_uid.upper(), token)["live"], status_code=303)

    @site.get("/{evse_uid}/p/{token}")
    async def live(request: Request, evse_uid: str, token: str) -> Response:
        _check_token(token)
        return await _live_page(_site(request), evse_uid, token)

    @site.get("/{evse_uid}/p/{token}/status.json")
    async def status_json(request: Request, evse_uid: str, token: str) -> Response:
        _check_token(token)
        view = await _view(_site(request), evse_uid, token)
        return JSONResponse(
            {
                "status": view.status,
                "energy": energy_text(view.energy_wh),
                "cost": money_text(view.cost) if view.cost is not None else None,
                "final": view.final,
                "card": _card_note(view),
                "settled": _settled(view),
            },
            headers=PAGE_HEADERS,
        )

    @site.post("/{evse_uid}/p/{token}/stop")
    async def stop(request: Request, evse_uid: str, token: str) -> Response:
        _check_token(token)
        await _stop(_site(request), evse_uid, token)
        return RedirectResponse(_paths(evse_uid.upper(), token)["live"], status_code=303)

    @site.get("/{evse_uid}/p/{token}/receipt")
    async def receipt(request: Request, evse_uid: str, token: str) -> Response:
        _check_token(token)
        return await _receipt_page(_site(request), evse_uid, token)


async def _pay_url(request: Request, evse_uid: str) -> str:
    pay = _site(request)
    async with pay.context.unit_of_work() as db:
        offer = await adhoc.offer_for(
            db=db, evse_uid=evse_uid, now=pay.context.clock.now(), policy=pay.policy
        )
    base = pay.payments.public_base_url if pay.payments is not None else str(request.base_url)
    return pay_url(public_base_url=base.removesuffix(PREFIX + "/"), evse_uid=offer.evse_uid)


async def _offer_page(
    pay: PaySite,
    evse_uid: str,
    *,
    error: str | None = None,
    email: str | None = None,
    status_code: int = 200,
) -> Response:
    async with pay.context.unit_of_work() as db:
        offer = await adhoc.offer_for(
            db=db, evse_uid=evse_uid, now=pay.context.clock.now(), policy=pay.policy
        )
    connected = pay.context.commands.is_connected(offer.station_identity)
    status_text, status_class = _status(offer.evse_status, connected)
    return page(
        "evse.html",
        status_code=status_code,
        offer=offer,
        power_kw=f"{offer.max_power_w / 1000:g}",
        status_text=status_text,
        status_class=status_class,
        lines=tariff_lines(offer.prices) if offer.prices is not None else [],
        hold=money_text(offer.hold) if offer.hold is not None else None,
        action=f"{PREFIX}/{offer.evse_uid}",
        card_payments=pay.payments is not None,
        error=error,
        email=email,
    )


async def _begin(pay: PaySite, request: Request, evse_uid: str) -> Response:
    if pay.payments is None:
        raise NotFound(kind="payment provider", key="configured")
    body = await request.body()
    if len(body) > _MAX_FORM:
        return await _offer_page(pay, evse_uid, error="The form is too large.", status_code=413)
    fields = parse_qs(body.decode("utf-8", errors="replace"), max_num_fields=5)
    email = (fields.get("email") or [""])[0]
    try:
        adhoc.parse_email(email)
    except InvalidRequest:
        shown = email[:254].replace("\x00", "")
        return await _offer_page(
            pay,
            evse_uid,
            error="Please enter a valid e-mail address, or leave it empty.",
            email=shown,
            status_code=422,
        )
    context = pay.context
    async with context.unit_of_work() as db:
        offer = await adhoc.offer_for(
            db=db, evse_uid=evse_uid, now=context.clock.now(), policy=pay.policy
        )
    if not context.commands.is_connected(offer.station_identity):
        return await _offer_page(
            pay,
            evse_uid,
            error="This charger is offline: it cannot be started now. Nothing was charged.",
            email=email,
            status_code=409,
        )
    wait_s = pay.budget.take(client_address(request.scope))
    if wait_s is not None:
        response = await _offer_page(
            pay,
            evse_uid,
            error="Too many payments were started from here. Please try again later.",
            email=email,
            status_code=429,
        )
        response.headers["Retry-After"] = str(max(1, int(wait_s + 0.999)))
        return response
    async with context.unit_of_work() as db:
        begun = await adhoc.begin_payment(
            db=db, evse_uid=evse_uid, email=email, now=context.clock.now(), policy=pay.policy
        )
        await db.commit()
    paths = _paths(evse_uid.strip().upper(), begun.page_token)
    return_url = pay.payments.public_base_url.rstrip("/") + paths["return"]
    try:
        setup = await card_setup.start_card_setup(
            context=context,
            provider=pay.payments.provider,
            operator_id=begun.operator_id,
            driver_id=begun.driver_id,
            return_url=return_url,
        )
    except card_setup.CardSetupUnavailable:
        return message_page(
            "Payment provider unavailable",
            "The payment provider did not answer. Nothing was charged; please try again.",
            status_code=503,
        )
    async with context.unit_of_work() as db:
        await adhoc.record_card_setup(
            db=db, payment_id=begun.payment_id, card_setup_id=setup.id, now=context.clock.now()
        )
        await db.commit()
    assert setup.url is not None
    return RedirectResponse(setup.url, status_code=303, headers={"Referrer-Policy": "no-referrer"})


async def _start(pay: PaySite, evse_uid: str, token: str) -> None:
    """The card from the provider, the hold, then RemoteStart (each step once)."""
    if pay.payments is None:
        raise NotFound(kind="payment provider", key="configured")
    context, provider = pay.context, pay.payments.provider
    async with context.unit_of_work() as db:
        row = await adhoc.get_payment(db=db, evse_uid=evse_uid, page_token=token)
        setup = None if row.card_setup_id is None else await db.get(CardSetup, row.card_setup_id)
        provider_setup = setup.provider_setup_id if setup is not None else None
        pending = row.status == adhoc.AdhocStatus.CARD_PENDING.value
    if pending and provider_setup is not None and setup is not None and setup.status == "pending":
        await card_setup.complete_card_setup(
            context=context, provider=provider, setup_id=provider_setup
        )
    row = await adhoc.place_hold(
        context=context, provider=provider, evse_uid=evse_uid, page_token=token, policy=pay.policy
    )
    if row.status != adhoc.AdhocStatus.HELD.value:
        return
    await _remote_start(pay, row)


async def _remote_start(pay: PaySite, row: AdhocPayment) -> None:
    context = pay.context
    async with context.unit_of_work() as db:
        id_tag = await adhoc.id_tag_of(db=db, payment=row)
        outgoing = await commands.prepare_command(
            db=db,
            operator_id=row.operator_id,
            station_id=row.station_id,
            command=RemoteStart(id_tag=id_tag, connector_id=row.connector_id),
        )
    answer: str | None
    try:
        response = await context.commands.send(
            station_identity=outgoing.station_identity,
            action=outgoing.action,
            payload=outgoing.payload,
            timeout_s=pay.command_timeout_s,
        )
        answer = str(response.get("status", "Rejected"))
    except StationTimeout:
        answer = None  # the hold stays until StartTransaction or the unused-hold deadline
    except StationNotConnected:
        answer = "NotConnected"
    _log.info("adhoc.remote_start", payment_id=row.id, answer=answer or "timeout")
    async with context.unit_of_work() as db:
        await adhoc.record_start(db=db, payment_id=row.id, answer=answer, now=context.clock.now())
        await db.commit()


async def _view(pay: PaySite, evse_uid: str, token: str) -> adhoc.LiveView:
    async with pay.context.unit_of_work() as db:
        row = await adhoc.get_payment(db=db, evse_uid=evse_uid, page_token=token)
        return await adhoc.live_view(db=db, payment=row, now=pay.context.clock.now())


_HEADLINES = {
    "card_pending": "Waiting for your card",
    "held": "Starting the charger",
    "starting": "Plug in: the charger is starting",
    "start_pending": "Waiting for the charger",
    "charging": "Charging",
    "stopped": "Charging stopped",
    "completed": "Session complete",
    "declined": "Payment declined",
    "refused": "The charger did not start",
    "released": "The charger did not start",
}


async def _live_page(pay: PaySite, evse_uid: str, token: str) -> Response:
    view = await _view(pay, evse_uid, token)
    paths = _paths(evse_uid.strip().upper(), token)
    return page(
        "live.html",
        view=view,
        evse_uid=evse_uid.strip().upper(),
        headline=_HEADLINES.get(view.status, view.status),
        energy=energy_text(view.energy_wh),
        cost=money_text(view.cost) if view.cost is not None else "-",
        card=_card_note(view),
        settled=_settled(view),
        poll_url=paths["poll"],
        stop_action=paths["stop"],
        receipt_url=_receipt_url(pay, view, summary=paths["receipt"]),
        evse_url=f"{PREFIX}/{evse_uid.strip().upper()}",
    )


def _card_note(view: adhoc.LiveView) -> str | None:
    # A session-less released hold is told by the view's message already.
    if view.released and view.session_id is None:
        return None
    return card_note(
        hold=view.hold, captured=view.captured, released=view.released, final=view.final
    )


def _settled(view: adhoc.LiveView) -> bool:
    """Whether the page can stop asking: the card's part is done or there is none."""
    return view.ended and (view.captured is not None or view.released or view.hold is None)


def _receipt_url(pay: PaySite, view: adhoc.LiveView, *, summary: str) -> str:
    """The public receipt (/receipts/{token}) once the session's amount is final; until then
    the session's summary on the guest's own page."""
    if view.status == "completed" and view.session_id is not None:
        return receipts.receipt_path(hasher=pay.context.api_keys, session_id=view.session_id)
    return summary


async def _stop(pay: PaySite, evse_uid: str, token: str) -> None:
    context = pay.context
    async with context.unit_of_work() as db:
        row = await adhoc.get_payment(db=db, evse_uid=evse_uid, page_token=token)
        session = await adhoc.session_of(db=db, payment=row)
        if session is None or session.status != "active":
            return  # nothing running: a repeated stop changes nothing
        outgoing = await commands.prepare_session_stop(
            db=db, operator_id=row.operator_id, session_id=session.id
        )
    try:
        await context.commands.send(
            station_identity=outgoing.station_identity,
            action=outgoing.action,
            payload=outgoing.payload,
            timeout_s=pay.command_timeout_s,
        )
    except (StationTimeout, StationNotConnected) as exc:
        _log.warning("adhoc.remote_stop_failed", payment_id=row.id, error=type(exc).__name__)


async def _receipt_page(pay: PaySite, evse_uid: str, token: str) -> Response:
    async with pay.context.unit_of_work() as db:
        row = await adhoc.get_payment(db=db, evse_uid=evse_uid, page_token=token)
        view = await adhoc.live_view(db=db, payment=row, now=pay.context.clock.now())
        session = await adhoc.session_of(db=db, payment=row)
        offer = await adhoc.offer_for(
            db=db, evse_uid=evse_uid, now=pay.context.clock.now(), policy=pay.policy
        )
    if session is None:
        raise NotFound(kind="receipt", key="?")
    return page(
        "receipt.html",
        view=view,
        location_name=offer.location_name,
        evse_uid=offer.evse_uid,
        station_identity=offer.station_identity,
        started=f"{session.started_at:%Y-%m-%d %H:%M} UTC",
        stopped=f"{session.stopped_at:%Y-%m-%d %H:%M} UTC" if session.stopped_at else None,
        energy=energy_text(view.energy_wh),
        cost=money_text(view.cost) if view.cost is not None else "-",
        card=_card_note(view),
    )
