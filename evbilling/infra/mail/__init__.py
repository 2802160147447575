"""The mail outbox (docs/app-api.md): `enqueue_mail` in the caller's transaction, the
`mail.deliver` job sends after commit, to a directory of .eml files (EVBILLING_MAIL_DIR) or an
SMTP server (EVBILLING_SMTP_URL); `evbilling mail list` shows the outbox."""

from evbilling.infra.mail.delivery import (
    DirectoryMailer,
    Mailer,
    Outgoing,
    SmtpMailer,
    build_message,
    mailer_for,
)
from evbilling.infra.mail.jobs import deliver_mail
from evbilling.infra.mail.model import MailMessage
from evbilling.infra.mail.outbox import (
    DELIVER_KIND,
    MailStatus,
    enqueue_mail,
    get_mail,
    list_mail,
)

__all__ = [
    "DELIVER_KIND",
    "DirectoryMailer",
    "MailMessage",
    "MailStatus",
    "Mailer",
    "Outgoing",
    "SmtpMailer",
    "build_message",
    "deliver_mail",
    "enqueue_mail",
    "get_mail",
    "list_mail",
    "mailer_for",
]
