"""The mail outbox table, declared by the mail infrastructure (evbilling.infra.mail.model)."""

from evbilling.infra.mail.model import MailMessage

__all__ = ["MailMessage"]
