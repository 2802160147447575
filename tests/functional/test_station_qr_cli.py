"""`evbilling station qr`: the QR code of an EVSE's pay page, for the installation's own
EVSEs only (another operator's EVSE is not found), as PNG or SVG, to a file or a pipe."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from evbilling.access.cli import DEFAULT_OPERATOR_NAME
from evbilling.access.service import ensure_operator
from evbilling.infra.context import ServiceContext
from evbilling.infra.db.engine import create_engine, create_session_factory
from evbilling.kit import FixedClock
from evbilling.web.qr import qr_png, qr_svg
from tests.conftest import START
from tests.functional.cli_calls import invoke
from tests.integration.arrange import add_operator
from tests.integration.payments.adhoc_support import EVSE_UID, priced_evse

PUBLIC = "https://charge.example"
OTHER_UID = "DE*OTH*E7"


def arrange(database: Path) -> None:
    """An EVSE of the installation's operator (EVSE_UID) and one of another (OTHER_UID)."""

    async def run() -> None:
        engine = create_engine(url=f"sqlite+aiosqlite:///{database}")
        context = ServiceContext(
            session_factory=create_session_factory(engine), clock=FixedClock(current=START)
        )
        async with context.unit_of_work() as db:
            own = await ensure_operator(db=db, name=DEFAULT_OPERATOR_NAME, now=START)
            await db.commit()
        await priced_evse(context, operator_id=own)
        other = await add_operator(context)
        await priced_evse(context, operator_id=other, identity="CP-9", uids=(OTHER_UID, None))
        await engine.dispose()

    asyncio.run(run())


@pytest.fixture
def evses(cli_database: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("EVBILLING_PUBLIC_BASE_URL", PUBLIC)
    arrange(cli_database)
    return cli_database


class TestStationQr:
    def test_writes_the_png_and_the_svg_of_the_pay_page(self, evses: Path, tmp_path: Path) -> None:
        png, svg = tmp_path / "qr.png", tmp_path / "qr.svg"

        as_png = invoke("station", "qr", EVSE_UID.lower(), "-o", str(png))
        as_svg = invoke("station", "qr", EVSE_UID, "--svg", "-o", str(svg))

        url = f"{PUBLIC}/pay/{EVSE_UID}"
        assert as_png.exit_code == 0, as_png.output
        assert as_svg.exit_code == 0, as_svg.output
        assert png.read_bytes() == qr_png(url)
        assert svg.read_bytes() == qr_svg(url)
        assert url in as_png.output

    def test_another_operators_evse_is_not_found(self, evses: Path, tmp_path: Path) -> None:
        target = tmp_path / "qr.png"

        result = invoke("station", "qr", OTHER_UID, "-o", str(target))

        assert result.exit_code == 1
        assert "not found" in result.output
        assert not target.exists()

    def test_refuses_a_malformed_evse_id(self, evses: Path) -> None:
        result = invoke("station", "qr", "DE*EVB*E1\x00")

        assert result.exit_code == 1
        assert "not found" in result.output
