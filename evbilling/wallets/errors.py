"""The wallet slice's failures, each named for what went wrong."""

from __future__ import annotations

from evbilling.kit import Conflict, InvalidRequest


class WalletClosed(Conflict):
    """The wallet was closed: nothing is credited to or taken from it any more."""


class WalletBusy(Conflict):
    """The wallet has live reservations (a session is paid from it): it cannot be closed."""


class TopUpTooSmall(InvalidRequest):
    """A top-up below the installation's minimum (EVBILLING_WALLET_MIN_TOPUP)."""


class BalanceLimitExceeded(InvalidRequest):
    """A credit would take the wallet above the maximum balance (EVBILLING_WALLET_MAX_BALANCE)."""


class WalletCurrencyMismatch(InvalidRequest):
    """An amount in another currency than the wallet's."""
