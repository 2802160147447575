"""`evbilling station qr EVSE_UID [--svg] [-o FILE]`: the QR code of an EVSE's pay page
(`{public_base_url}/pay/{evse_uid}`), for the installation's operator's EVSEs only. Without
`-o` a terminal gets the URL and the code drawn in text; a pipe gets the image bytes."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import segno
import typer
from sqlalchemy.ext.asyncio import AsyncSession

from evbilling.infra.cli import run_command
from evbilling.infra.context import ServiceContext
from evbilling.payments import adhoc
from evbilling.web.qr import pay_url, qr_png, qr_svg

_public_url: Callable[[], str] | None = None


def register(*, station_app: typer.Typer, public_url: Callable[[], str]) -> None:
    """Add `qr` to `evbilling station`; `public_url` gives the server's public base URL."""
    global _public_url
    _public_url = public_url
    station_app.command("qr")(station_qr)


def station_qr(
    evse_uid: Annotated[str, typer.Argument(help="The EVSE ID, such as DE*ABC*E1234.")],
    svg: Annotated[bool, typer.Option("--svg", help="SVG instead of PNG.")] = False,
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Write the image to this file.")
    ] = None,
) -> None:
    """The QR code a guest scans to pay at this EVSE without an account."""

    async def work(db: AsyncSession, context: ServiceContext, operator_id: int) -> str:
        return await adhoc.owned_evse_uid(db=db, operator_id=operator_id, evse_uid=evse_uid)

    uid = run_command(work)
    assert _public_url is not None, "register() mounts this command"
    url = pay_url(public_base_url=_public_url(), evse_uid=uid)
    image = qr_svg(url) if svg else qr_png(url)
    if output is not None:
        output.write_bytes(image)
        typer.echo(f"{output}: {url}")
    elif sys.stdout.isatty():
        typer.echo(url)
        segno.make(url, error="m").terminal(compact=True)
    else:
        sys.stdout.buffer.write(image)
        sys.stdout.flush()
