"""Where outbox messages go: files in a directory (development, tests, the demo) or an SMTP
server. Both build the same RFC 5322 message; SMTP runs in a thread (smtplib blocks)."""

from __future__ import annotations

import asyncio
import os
import smtplib
import ssl
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Protocol
from urllib.parse import unquote, urlsplit

DEFAULT_SENDER = "evbilling <no-reply@localhost>"
SMTP_TIMEOUT_S = 30.0


@dataclass(frozen=True, slots=True)
class Outgoing:
    mail_id: int
    to: str
    subject: str
    body_text: str
    created_at: datetime


def build_message(mail: Outgoing, *, sender: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = mail.to
    message["Subject"] = mail.subject
    message["Date"] = format_datetime(mail.created_at)
    message["Message-ID"] = make_msgid(idstring=f"outbox-{mail.mail_id}")
    message.set_content(mail.body_text)
    return message


class Mailer(Protocol):
    async def send(self, mail: Outgoing) -> None: ...


@dataclass(frozen=True, slots=True)
class DirectoryMailer:
    """Each message as `<outbox id>.eml` in `directory` (written whole, then renamed, so a
    reader never sees half a file; sending again replaces the same file)."""

    directory: Path
    sender: str = DEFAULT_SENDER

    def path_of(self, mail_id: int) -> Path:
        return self.directory / f"{mail_id:08d}.eml"

    async def send(self, mail: Outgoing) -> None:
        await asyncio.to_thread(self._write, mail)

    def _write(self, mail: Outgoing) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        target = self.path_of(mail.mail_id)
        draft = target.with_name(f".{target.name}.{os.getpid()}")
        draft.write_bytes(bytes(build_message(mail, sender=self.sender)))
        os.replace(draft, target)


@dataclass(frozen=True, slots=True)
class SmtpMailer:
    """`smtp://[user:password@]host[:port]` (STARTTLS when the server offers it, required
    with credentials) or `smtps://...` (TLS from the start)."""

    url: str
    sender: str = DEFAULT_SENDER

    async def send(self, mail: Outgoing) -> None:
        await asyncio.to_thread(self._send, mail)

    def _send(self, mail: Outgoing) -> None:
        parts = urlsplit(self.url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError("EVBILLING_SMTP_URL must be smtp://host[:port] or smtps://...")
        context = ssl.create_default_context()
        client: smtplib.SMTP
        if parts.scheme == "smtps":
            client = smtplib.SMTP_SSL(
                parts.hostname, parts.port or 465, timeout=SMTP_TIMEOUT_S, context=context
            )
        else:
            client = smtplib.SMTP(parts.hostname, parts.port or 25, timeout=SMTP_TIMEOUT_S)
        with client:
            client.ehlo()
            if parts.scheme == "smtp" and (client.has_extn("starttls") or parts.username):
                client.starttls(context=context)
                client.ehlo()
            if parts.username:
                client.login(unquote(parts.username), unquote(parts.password or ""))
            client.send_message(build_message(mail, sender=self.sender))


def mailer_for(*, mail_dir: str, smtp_url: str | None, sender: str = DEFAULT_SENDER) -> Mailer:
    """SMTP when a URL is configured, else the directory."""
    if smtp_url:
        return SmtpMailer(url=smtp_url, sender=sender)
    return DirectoryMailer(directory=Path(mail_dir), sender=sender)
