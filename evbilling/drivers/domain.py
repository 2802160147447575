"""The rules of drivers' and tokens' values: an OCPP idTag, an e-mail address, what a token
is and whether it may charge."""

from __future__ import annotations

import re
from enum import StrEnum

from evbilling.kit.values import ValidatedText


class TokenStatus(StrEnum):
    ACTIVE = "active"
    BLOCKED = "blocked"


class PaymentPreference(StrEnum):
    """How a driver wants their sessions paid (docs/payment-choice.md); none: a postpaid
    account when linked, else the wallet with a balance, else the saved card."""

    CARD = "card"
    WALLET = "wallet"
    POSTPAID = "postpaid"


class TokenType(StrEnum):
    RFID = "rfid"
    APP = "app"
    AD_HOC = "ad_hoc"


class IdTag(ValidatedText):
    """An OCPP 1.6 idTag (CiString20): RFID UIDs arrive in mixed case from different readers,
    so they are stored and compared upper-case, without surrounding blanks (the rule of
    charging's `normalize_id_tag`)."""

    __slots__ = ()
    PATTERN = re.compile(r"[ -~]{1,20}")
    MAX_LENGTH = 20
    RULE = "1 to 20 printable ASCII characters"
    FIELD = "uid"

    @classmethod
    def normalize(cls, value: str) -> str:
        return value.strip().upper()


class Email(ValidatedText):
    __slots__ = ()
    PATTERN = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
    MAX_LENGTH = 320
    RULE = "an e-mail address such as ada@example.com"
    FIELD = "email"

    @classmethod
    def normalize(cls, value: str) -> str:
        return value.strip()
