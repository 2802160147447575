"""The ledger's failures, each named for what went wrong.

Entries that cannot be built are `InvalidEntry` (a programming or data error of the caller:
amounts only ever come from rating, never from a request); a reference reused for other
lines, and a hold resolved twice, are conflicts.
"""

from __future__ import annotations

from evbilling.kit.errors import Conflict, EVBillingError, InvalidRequest


class LedgerError(EVBillingError):
    """Root of the ledger's own errors."""


class InvalidEntry(LedgerError, InvalidRequest):
    """An entry or transfer that the ledger refuses to book."""


class EmptyEntry(InvalidEntry):
    """An entry without lines."""


class ZeroLine(InvalidEntry):
    """A line of zero: it moves nothing and would hide a mistake."""


class UnbalancedEntry(InvalidEntry):
    """The lines of one currency do not sum to zero."""


class CurrencyMismatch(InvalidEntry):
    """An amount in one currency booked to an account kept in another."""


class InvalidReference(InvalidEntry):
    """A reference that is blank or longer than the column holds."""


class InvalidAccount(InvalidEntry):
    """An account reference the ledger cannot keep (bad currency, blank or long scope)."""


class InvalidTransferAmount(InvalidEntry):
    """A hold of zero or less, or a post of more than is held (or of nothing: use void)."""


class EntryConflict(LedgerError, Conflict):
    """The reference is already booked, with other lines or as another kind of entry."""


class PendingAlreadyResolved(LedgerError, Conflict):
    """The hold was already posted or voided: it resolves exactly once."""


class EntryAlreadyReversed(LedgerError, Conflict):
    """The entry was reversed already: an entry is reversed at most once."""


class NotReversible(LedgerError, Conflict):
    """Holds and their resolutions are undone by void or by a new entry, not reversed."""
