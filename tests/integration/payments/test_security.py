"""After a whole card flow (card saved on the hosted page, hold, capture, refund, webhooks),
neither database -- evbilling's nor the sandbox provider's -- nor the logs hold the card
number, its CVC or the raw webhook secret."""

from __future__ import annotations

import logging
import re
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from evbilling.models import Base
from tests.integration.payments.flow import card_session, payment_of
from tests.integration.payments.support import WEBHOOK_SECRET, Payments

CARD = "4242424242424242"
CVC = "9183"


def _sqlite_texts(path: Path) -> tuple[bytes, str]:
    connection = sqlite3.connect(path)
    try:
        dump = "\n".join(connection.iterdump())
    finally:
        connection.close()
    return path.read_bytes(), dump


async def _postgres_text(engine: AsyncEngine) -> str:
    parts: list[str] = []
    async with engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            rows = await connection.execute(
                text(f'SELECT row_to_json(t)::text FROM "{table.name}" t')
            )
            parts += [row[0] for row in rows]
    return "\n".join(parts)


def _has_cvc(haystack: str) -> bool:
    return re.search(rf"(?<![0-9A-Za-z]){CVC}(?![0-9A-Za-z])", haystack) is not None


class TestNoCardDataKept:
    async def test_databases_and_logs_hold_no_card_number_cvc_or_webhook_secret(
        self,
        payments: Payments,
        engine: AsyncEngine,
        database_url: str,
        tmp_path: Path,
        caplog: pytest.LogCaptureFixture,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        caplog.set_level(logging.DEBUG)
        payments.cvc = CVC
        done = await card_session(payments, total="9.52", card=CARD)
        payment = await payment_of(payments, done.session_id)
        refund = await payments.api.post(
            f"/payments/{payment.id}/refunds", json={"amount": "1.00", "reason": "test"}
        )
        assert refund.status_code == 201
        await payments.drain()

        sandbox_bytes, sandbox_dump = _sqlite_texts(tmp_path / "sandbox-psp.sqlite3")
        if make_url(database_url).get_backend_name() == "sqlite":
            ours_bytes, ours_dump = _sqlite_texts(Path(str(make_url(database_url).database)))
        else:
            ours_bytes, ours_dump = b"", await _postgres_text(engine)
        logs = caplog.text + "".join(capsys.readouterr())

        assert payment.captured_minor == 952  # the flow ran
        for blob in (sandbox_bytes, ours_bytes):
            assert CARD.encode() not in blob
            assert WEBHOOK_SECRET.encode() not in blob
        for dump in (sandbox_dump, ours_dump, logs):
            assert CARD not in dump
            assert WEBHOOK_SECRET not in dump
            assert not _has_cvc(dump)
        assert "4242" in ours_dump  # the last 4 are kept, as they should be
