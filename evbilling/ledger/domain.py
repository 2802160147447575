"""The ledger's pure rules: accounts, lines, balanced entries, two-phase holds, balances.

Amounts are signed integer minor units in the currency's ISO 4217 exponent: positive is a
debit, negative a credit. The lines of an entry sum to zero in every currency. An account is
named by what it is (`kind`), its currency and whose it is (`scope`); the database gives it
an id the first time it is used.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from evbilling.ledger.errors import (
    CurrencyMismatch,
    EmptyEntry,
    InvalidAccount,
    InvalidEntry,
    InvalidReference,
    InvalidTransferAmount,
    UnbalancedEntry,
    ZeroLine,
)
from evbilling.money import InvalidCurrency, Money, validate_currency

MAX_REFERENCE_LENGTH = 120
MAX_DESCRIPTION_LENGTH = 500
MAX_SCOPE_LENGTH = 120
# Amounts are stored as signed 64-bit integers.
MAX_AMOUNT_MINOR = 2**63 - 1


class AccountKind(StrEnum):
    DRIVER_RECEIVABLE = "driver_receivable"  # scope "driver:{id}"
    PSP_CLEARING = "psp_clearing"  # scope "psp:{provider}"
    PSP_FEES = "psp_fees"  # scope "psp:{provider}"
    REVENUE = "revenue"  # scope "operator:{op}/location:{loc or 'none'}"
    VAT_PAYABLE = "vat_payable"  # scope "operator:{op}/rate:{rate}"
    REFUNDS_PAYABLE = "refunds_payable"  # scope "operator:{op}"
    WRITTEN_OFF = "written_off"  # scope "operator:{op}"
    WALLET = "wallet"  # scope "driver:{id}"
    WALLET_FUNDING = "wallet_funding"  # scope "operator:{op}"
    TOKEN_RECEIVABLE = "token_receivable"  # scope "token:{id}"
    POSTPAID_RECEIVABLE = "postpaid_receivable"  # scope "account:{id}"
    BANK = "bank"  # scope "operator:{op}"


class EntryKind(StrEnum):
    TRANSFER = "transfer"
    PENDING = "pending"
    POST_PENDING = "post_pending"
    VOID_PENDING = "void_pending"
    REVERSAL = "reversal"


class PendingStatus(StrEnum):
    PENDING = "pending"
    POSTED = "posted"
    VOIDED = "voided"


def rate_text(rate: Decimal) -> str:
    """A VAT rate as it appears in a scope: 19 -> "19", 7.70 -> "7.7", 20 -> "20"."""
    if not rate.is_finite() or rate < 0:
        raise InvalidAccount(f"not a VAT rate: {rate!r}", field="rate")
    text = format(rate.normalize(), "f")
    return text


@dataclass(frozen=True, slots=True)
class AccountRef:
    kind: AccountKind
    currency: str
    scope: str

    def __post_init__(self) -> None:
        try:
            validate_currency(self.currency)
        except InvalidCurrency as exc:
            raise InvalidAccount(str(exc), field="currency") from exc
        if not self.scope or len(self.scope) > MAX_SCOPE_LENGTH or self.scope != self.scope.strip():
            raise InvalidAccount(
                f"an account scope is 1..{MAX_SCOPE_LENGTH} characters without outer blanks",
                field="scope",
            )
        if not isinstance(self.kind, AccountKind):
            raise InvalidAccount(f"not an account kind: {self.kind!r}", field="kind")

    def __str__(self) -> str:
        return f"{self.kind}:{self.currency}:{self.scope}"

    @classmethod
    def driver_receivable(cls, *, driver_id: int, currency: str) -> AccountRef:
        return cls(AccountKind.DRIVER_RECEIVABLE, currency, f"driver:{driver_id}")

    @classmethod
    def psp_clearing(cls, *, provider: str, currency: str) -> AccountRef:
        return cls(AccountKind.PSP_CLEARING, currency, f"psp:{provider}")

    @classmethod
    def psp_fees(cls, *, provider: str, currency: str) -> AccountRef:
        return cls(AccountKind.PSP_FEES, currency, f"psp:{provider}")

    @classmethod
    def revenue(cls, *, operator_id: int, location_id: int | None, currency: str) -> AccountRef:
        location = "none" if location_id is None else str(location_id)
        return cls(AccountKind.REVENUE, currency, f"operator:{operator_id}/location:{location}")

    @classmethod
    def vat_payable(cls, *, operator_id: int, rate: Decimal, currency: str) -> AccountRef:
        return cls(
            AccountKind.VAT_PAYABLE, currency, f"operator:{operator_id}/rate:{rate_text(rate)}"
        )

    @classmethod
    def refunds_payable(cls, *, operator_id: int, currency: str) -> AccountRef:
        return cls(AccountKind.REFUNDS_PAYABLE, currency, f"operator:{operator_id}")

    @classmethod
    def written_off(cls, *, operator_id: int, currency: str) -> AccountRef:
        return cls(AccountKind.WRITTEN_OFF, currency, f"operator:{operator_id}")

    @classmethod
    def wallet(cls, *, driver_id: int, currency: str) -> AccountRef:
        return cls(AccountKind.WALLET, currency, f"driver:{driver_id}")

    @classmethod
    def wallet_funding(cls, *, operator_id: int, currency: str) -> AccountRef:
        return cls(AccountKind.WALLET_FUNDING, currency, f"operator:{operator_id}")

    @classmethod
    def token_receivable(cls, *, token_id: int, currency: str) -> AccountRef:
        """What the holder of a token linked to nobody owes (its fixed fees)."""
        return cls(AccountKind.TOKEN_RECEIVABLE, currency, f"token:{token_id}")

    @classmethod
    def postpaid_receivable(cls, *, account_id: int, currency: str) -> AccountRef:
        return cls(AccountKind.POSTPAID_RECEIVABLE, currency, f"account:{account_id}")

    @classmethod
    def bank(cls, *, operator_id: int, currency: str) -> AccountRef:
        return cls(AccountKind.BANK, currency, f"operator:{operator_id}")


def belongs_to_operator(scope: str, *, operator_id: int) -> bool:
    """Whether a scope names the operator itself ("operator:7") or something of it
    ("operator:7/location:3"); drivers' scopes are the operator's through the driver row."""
    own = f"operator:{operator_id}"
    return scope == own or scope.startswith(own + "/")


@dataclass(frozen=True, slots=True)
class Line:
    account: AccountRef
    amount_minor: int

    @classmethod
    def of(cls, *, account: AccountRef, amount: Money) -> Line:
        """A line of a rounded Money amount (positive debits, negative credits)."""
        if amount.currency != account.currency:
            raise CurrencyMismatch(
                f"{amount} cannot be booked to the {account.currency} account {account}"
            )
        return cls(account=account, amount_minor=amount.minor_units())

    @property
    def currency(self) -> str:
        return self.account.currency


@dataclass(frozen=True, slots=True)
class EntryDraft:
    reference: str
    description: str
    lines: tuple[Line, ...]


def check_reference(reference: str) -> str:
    if not reference or reference != reference.strip() or len(reference) > MAX_REFERENCE_LENGTH:
        raise InvalidReference(
            f"a reference is 1..{MAX_REFERENCE_LENGTH} characters without outer blanks",
            field="reference",
        )
    return reference


def sums_by_currency(lines: Iterable[Line]) -> dict[str, int]:
    totals: dict[str, int] = defaultdict(int)
    for line in lines:
        totals[line.currency] += line.amount_minor
    return dict(totals)


def build_entry(*, reference: str, description: str, lines: Iterable[Line]) -> EntryDraft:
    """A balanced entry, or the first rule it breaks. Lines are kept as given (order, no
    merging): the lines booked are the lines asked for."""
    check_reference(reference)
    if len(description) > MAX_DESCRIPTION_LENGTH:
        raise InvalidEntry(
            f"a description is at most {MAX_DESCRIPTION_LENGTH} characters", field="description"
        )
    kept = tuple(lines)
    if not kept:
        raise EmptyEntry("an entry needs lines", field="lines")
    for index, line in enumerate(kept):
        if not isinstance(line.amount_minor, int) or isinstance(line.amount_minor, bool):
            raise ZeroLine(f"line {index}: amounts are integer minor units", field="lines")
        if line.amount_minor == 0:
            raise ZeroLine(f"line {index} moves nothing", field="lines")
        if abs(line.amount_minor) > MAX_AMOUNT_MINOR:
            raise UnbalancedEntry(f"line {index}: amount out of range", field="lines")
    unbalanced = {currency: total for currency, total in sums_by_currency(kept).items() if total}
    if unbalanced:
        shown = ", ".join(
            f"{total:+d} {currency}" for currency, total in sorted(unbalanced.items())
        )
        raise UnbalancedEntry(f"the lines do not balance: {shown}", field="lines")
    return EntryDraft(reference=reference, description=description, lines=kept)


def transfer_lines(
    *, debit: AccountRef, credit: AccountRef, amount_minor: int
) -> tuple[Line, Line]:
    """The two lines of moving `amount_minor` from `credit` to `debit` (one currency)."""
    if debit.currency != credit.currency:
        raise CurrencyMismatch(f"a transfer between {debit} and {credit} mixes currencies")
    if debit == credit:
        raise InvalidEntry("a transfer needs two different accounts", field="credit")
    return (Line(debit, amount_minor), Line(credit, -amount_minor))


def check_hold_amount(amount_minor: int) -> int:
    if isinstance(amount_minor, bool) or not isinstance(amount_minor, int) or amount_minor <= 0:
        raise InvalidTransferAmount(
            f"a hold is a positive amount of minor units, not {amount_minor!r}",
            field="amount_minor",
        )
    if amount_minor > MAX_AMOUNT_MINOR:
        raise InvalidTransferAmount("a hold's amount is out of range", field="amount_minor")
    return amount_minor


def check_post_amount(*, amount_minor: int, held_minor: int) -> int:
    """0 < amount <= held: the rest of the hold is released; nothing at all is a void."""
    if isinstance(amount_minor, bool) or not isinstance(amount_minor, int) or amount_minor <= 0:
        raise InvalidTransferAmount(
            f"post a positive amount (void a hold to post nothing), not {amount_minor!r}",
            field="amount_minor",
        )
    if amount_minor > held_minor:
        raise InvalidTransferAmount(
            f"cannot post {amount_minor}: only {held_minor} is held", field="amount_minor"
        )
    return amount_minor


def reversed_lines(lines: Iterable[Line]) -> tuple[Line, ...]:
    """The lines that undo `lines`: the same accounts, each amount negated."""
    return tuple(Line(line.account, -line.amount_minor) for line in lines)


# ---------------------------------------------------------------------------------------------
# What the ledger answers


@dataclass(frozen=True, slots=True)
class PostedEntry:
    id: int
    reference: str
    created_at: datetime
    lines: tuple[Line, ...]
    kind: EntryKind = EntryKind.TRANSFER
    description: str = ""


@dataclass(frozen=True, slots=True)
class PendingTransfer:
    id: int
    reference: str
    debit: AccountRef
    credit: AccountRef
    currency: str
    amount_minor: int
    status: PendingStatus
    posted_minor: int
    expires_at: datetime | None = None
    created_at: datetime | None = None
    resolved_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class AccountBalance:
    account_id: int
    account: AccountRef
    debits_posted: int
    credits_posted: int
    debits_pending: int
    credits_pending: int
    balance_minor: int


def account_balance_of(
    *, account_id: int, account: AccountRef, posted: tuple[int, int], pending: tuple[int, int]
) -> AccountBalance:
    """The balance from the sums of an account's lines: (debits, credits) as magnitudes."""
    return AccountBalance(
        account_id=account_id,
        account=account,
        debits_posted=posted[0],
        credits_posted=posted[1],
        debits_pending=pending[0],
        credits_pending=pending[1],
        balance_minor=posted[0] - posted[1],
    )


@dataclass(frozen=True, slots=True)
class TrialBalanceRow:
    currency: str
    debits: int
    credits: int
    difference: int
    debits_pending: int = 0
    credits_pending: int = 0


def trial_balance_rows(
    posted: Mapping[str, tuple[int, int]], pending: Mapping[str, tuple[int, int]]
) -> list[TrialBalanceRow]:
    rows = []
    for currency in sorted(set(posted) | set(pending)):
        debits, credits = posted.get(currency, (0, 0))
        debits_pending, credits_pending = pending.get(currency, (0, 0))
        rows.append(
            TrialBalanceRow(
                currency=currency,
                debits=debits,
                credits=credits,
                difference=debits - credits,
                debits_pending=debits_pending,
                credits_pending=credits_pending,
            )
        )
    return rows
