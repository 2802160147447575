"""The hosted card-entry page's routes: GET renders the form, POST checks the card, saves
its token and redirects to the set-up's return URL with ?setup_id=."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncConnection

from evbilling.payments.psp.sandbox import setups
from evbilling.payments.psp.sandbox.cards import CardRejected, check_card
from evbilling.payments.psp.sandbox.hosted import card_form, done_page, parse_form
from evbilling.payments.psp.sandbox.server import SandboxServer
from evbilling.payments.psp.sandbox.store import Effects, Outcome


def page_url(server: SandboxServer, request: Request) -> str:
    if server.public_url:
        return server.public_url
    root_path = str(request.scope.get("root_path", "")).rstrip("/")
    return f"{request.url.scheme}://{request.url.netloc}{root_path}"


def page_router(server: SandboxServer) -> APIRouter:
    router = APIRouter()

    @router.get("/setup/{setup_id}", response_class=HTMLResponse)
    async def setup_page(request: Request, setup_id: str, key: str = "") -> Response:
        await server.start()

        async def run(conn: AsyncConnection, _: Effects) -> Outcome:
            row = await setups.page_setup(conn, setup_id=setup_id, page_key=key)
            return Outcome(200, {"status": row["status"]})

        answer = await server.read(run)
        if answer.status != 200:
            return HTMLResponse("<!doctype html><title>Not found</title>Not found", 404)
        if answer.body["status"] != "pending":
            return HTMLResponse(done_page())
        return HTMLResponse(card_form(action=str(request.url)), headers=_NO_STORE)

    @router.post("/setup/{setup_id}", response_class=HTMLResponse)
    async def submit_card(request: Request, setup_id: str, key: str = "") -> Response:
        await server.start()
        form = parse_form(await request.body())
        try:
            card = check_card(
                number=form.get("number", ""), expiry=form.get("expiry", ""),
                cvc=form.get("cvc", ""), now=server.clock.now(),
            )  # fmt: skip
        except CardRejected as rejected:
            page = card_form(action=str(request.url), error=str(rejected))
            return HTMLResponse(page, status_code=422, headers=_NO_STORE)
        finally:
            form.clear()
        here = page_url(server, request)
        redirect: list[str] = []

        async def run(conn: AsyncConnection, effects: Effects) -> Outcome:
            redirect.append(
                await setups.complete_setup(
                    conn, effects, now=server.clock.now(), setup_id=setup_id, page_key=key,
                    card=card, page_url=here,
                )
            )  # fmt: skip
            return Outcome(303, {})

        answer = await server.read(run)
        if answer.status != 303:
            return HTMLResponse(done_page() if answer.status == 400 else "Not found", answer.status)
        return RedirectResponse(redirect[0], status_code=303, headers=_NO_STORE)

    return router


_NO_STORE = {"Cache-Control": "no-store"}
