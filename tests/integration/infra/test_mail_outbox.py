"""The mail outbox: messages queued in the caller's transaction, delivered after commit by
the `mail.deliver` job (to .eml files here), once; header injection refused."""

from __future__ import annotations

import email
from datetime import UTC, datetime
from email import policy
from pathlib import Path

import pytest
from sqlalchemy import func, select

from evbilling.infra.context import ServiceContext
from evbilling.infra.mail import (
    DELIVER_KIND,
    DirectoryMailer,
    MailStatus,
    Outgoing,
    deliver_mail,
    enqueue_mail,
    mailer_for,
)
from evbilling.infra.mail.delivery import SmtpMailer
from evbilling.infra.mail.outbox import DELIVERY_ATTEMPTS, ERASED_BODY
from evbilling.kit import InvalidRequest
from evbilling.models import Job, MailMessage


async def queue(context: ServiceContext, **changes: object) -> int:
    fields: dict[str, object] = {
        "to": "ada@example.com",
        "subject": "Your receipt",
        "body_text": "Thank you for charging with us.\n",
    }
    fields.update(changes)
    async with context.unit_of_work() as db:
        mail_id = await enqueue_mail(db=db, now=context.clock.now(), **fields)  # type: ignore[arg-type]
        await db.commit()
    return mail_id


async def counts(context: ServiceContext) -> tuple[int, int]:
    async with context.unit_of_work() as db:
        mails = await db.scalar(select(func.count()).select_from(MailMessage))
        jobs = await db.scalar(
            select(func.count()).select_from(Job).where(Job.kind == DELIVER_KIND)
        )
    return int(mails or 0), int(jobs or 0)


async def mail_row(context: ServiceContext, mail_id: int) -> MailMessage:
    async with context.unit_of_work() as db:
        row = await db.get(MailMessage, mail_id)
    assert row is not None
    return row


class TestEnqueue:
    async def test_queues_the_message_and_its_delivery_job(self, context: ServiceContext) -> None:
        mail_id = await queue(context)

        row = await mail_row(context, mail_id)
        assert row.status == MailStatus.PENDING
        assert await counts(context) == (1, 1)

    async def test_a_dedupe_key_queues_a_message_once(self, context: ServiceContext) -> None:
        first = await queue(context, dedupe_key="receipt:7")
        second = await queue(context, dedupe_key="receipt:7")

        assert first == second
        assert await counts(context) == (1, 1)

    async def test_nothing_is_sent_when_the_transaction_rolls_back(
        self, context: ServiceContext
    ) -> None:
        async with context.unit_of_work() as db:
            await enqueue_mail(
                db=db, to="ada@example.com", subject="s", body_text="b", now=context.clock.now()
            )
            await db.rollback()

        assert await counts(context) == (0, 0)

    async def test_refuses_what_could_forge_headers_and_queues_nothing(
        self, context: ServiceContext
    ) -> None:
        for changes in [
            {"to": "ada@example.com\r\nBcc: everyone@example.com"},
            {"to": "not an address"},
            {"subject": "Hello\nBcc: everyone@example.com"},
            {"subject": "x" * 201},
            {"body_text": "nul\x00"},
            {"dedupe_key": "k\nx"},
        ]:
            with pytest.raises(InvalidRequest):
                await queue(context, **changes)

        assert await counts(context) == (0, 0)


class FailingMailer:
    async def send(self, mail: Outgoing) -> None:
        raise ConnectionRefusedError("no mail server")


class TestDelivery:
    async def test_writes_an_eml_file_and_marks_the_message_sent(
        self, context: ServiceContext, tmp_path: Path
    ) -> None:
        mail_id = await queue(context)
        mailer = DirectoryMailer(directory=tmp_path / "mail", sender="evbilling <a@b.example>")

        await deliver_mail(mailer)(
            context=context, payload={"mail_id": mail_id}, now=context.clock.now()
        )

        parsed = email.message_from_bytes(
            mailer.path_of(mail_id).read_bytes(), policy=policy.default
        )
        assert parsed["To"] == "ada@example.com"
        assert parsed["Subject"] == "Your receipt"
        assert parsed["From"] == "evbilling <a@b.example>"
        body = parsed.get_body()
        assert body is not None
        assert "Thank you for charging" in body.get_content()
        row = await mail_row(context, mail_id)
        assert row.status == MailStatus.SENT
        assert row.sent_at is not None
        # Its one-time links are in the mailbox, not in the database.
        assert row.body_text == ERASED_BODY

    async def test_a_sent_message_is_not_sent_again(
        self, context: ServiceContext, tmp_path: Path
    ) -> None:
        mail_id = await queue(context)
        mailer = DirectoryMailer(directory=tmp_path)
        deliver = deliver_mail(mailer)
        await deliver(context=context, payload={"mail_id": mail_id}, now=context.clock.now())
        mailer.path_of(mail_id).unlink()

        await deliver(context=context, payload={"mail_id": mail_id}, now=context.clock.now())

        assert not mailer.path_of(mail_id).exists()

    async def test_a_failure_is_recorded_and_retried_until_the_last_attempt(
        self, context: ServiceContext
    ) -> None:
        mail_id = await queue(context)
        deliver = deliver_mail(FailingMailer())

        for _ in range(DELIVERY_ATTEMPTS):
            with pytest.raises(ConnectionRefusedError):
                await deliver(
                    context=context, payload={"mail_id": mail_id}, now=context.clock.now()
                )

        row = await mail_row(context, mail_id)
        assert row.status == MailStatus.FAILED
        assert row.attempts == DELIVERY_ATTEMPTS
        assert row.last_error == "ConnectionRefusedError: no mail server"


class TestMailerChoice:
    def test_smtp_when_a_url_is_set_else_the_directory(self, tmp_path: Path) -> None:
        assert isinstance(mailer_for(mail_dir=str(tmp_path), smtp_url=None), DirectoryMailer)
        smtp = mailer_for(mail_dir=str(tmp_path), smtp_url="smtp://mail.example:587")
        assert isinstance(smtp, SmtpMailer)

    async def test_refuses_an_smtp_url_of_another_scheme(self) -> None:
        mail = Outgoing(
            mail_id=1, to="a@b.example", subject="s", body_text="b", created_at=datetime.now(UTC)
        )

        with pytest.raises(ValueError, match="EVBILLING_SMTP_URL"):
            await SmtpMailer(url="http://mail.example").send(mail)
