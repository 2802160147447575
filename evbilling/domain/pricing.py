"""The pricing seam: a session's usage + the tariff snapshotted at its start -> an explained price.

Sessions are priced here and nowhere else. Today the tariff is a per-kWh price, a per-session
fee and one VAT rate; the full OCPI 2.2.1 tariff engine replaces `price_session` behind the
same inputs and outputs.

Rounding: each line's amount (quantity x unit price) is rounded once to the currency's minor
unit (ROUND_HALF_UP, see evbilling.domain.money); the total excl. VAT is the sum of the
rounded lines; VAT is computed on that total and rounded once; total incl. VAT = excl. + VAT.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from evbilling.domain.money import Money, to_decimal, validate_currency
from evbilling.kit import EVBillingError


class InvalidTariffTerms(EVBillingError):
    """A tariff's prices or VAT rate are out of range."""


@dataclass(frozen=True, slots=True)
class TariffTerms:
    """What a session is priced with; copied onto the session when it starts."""

    tariff_id: int | None
    name: str
    currency: str
    energy_price_per_kwh: Decimal
    session_fee: Decimal
    vat_percent: Decimal

    def __post_init__(self) -> None:
        validate_currency(self.currency)
        for field_name in ("energy_price_per_kwh", "session_fee"):
            if getattr(self, field_name) < 0:
                raise InvalidTariffTerms(f"{field_name} must not be negative")
        if not Decimal(0) <= self.vat_percent <= Decimal(100):
            raise InvalidTariffTerms("vat_percent must be between 0 and 100")

    def snapshot(self) -> dict[str, Any]:
        return {
            "tariff_id": self.tariff_id,
            "name": self.name,
            "currency": self.currency,
            "energy_price_per_kwh": str(self.energy_price_per_kwh),
            "session_fee": str(self.session_fee),
            "vat_percent": str(self.vat_percent),
        }

    @classmethod
    def from_snapshot(cls, data: dict[str, Any]) -> TariffTerms:
        return cls(
            tariff_id=data.get("tariff_id"),
            name=str(data["name"]),
            currency=str(data["currency"]),
            energy_price_per_kwh=to_decimal(data["energy_price_per_kwh"]),
            session_fee=to_decimal(data["session_fee"]),
            vat_percent=to_decimal(data["vat_percent"]),
        )


@dataclass(frozen=True, slots=True)
class SessionUsage:
    started_at: datetime
    stopped_at: datetime
    energy_wh: int


@dataclass(frozen=True, slots=True)
class PriceLine:
    description: str
    quantity: Decimal
    unit: str
    unit_price: Money
    amount: Money


@dataclass(frozen=True, slots=True)
class PricedSession:
    currency: str
    lines: tuple[PriceLine, ...]
    total_excl_vat: Money
    vat_percent: Decimal
    vat: Money
    total_incl_vat: Money

    def to_dict(self) -> dict[str, Any]:
        return {
            "currency": self.currency,
            "lines": [
                {
                    "description": line.description,
                    "quantity": str(line.quantity),
                    "unit": line.unit,
                    "unit_price": str(line.unit_price.amount),
                    "amount": str(line.amount.amount),
                }
                for line in self.lines
            ],
            "total_excl_vat": str(self.total_excl_vat.amount),
            "vat_percent": str(self.vat_percent),
            "vat": str(self.vat.amount),
            "total_incl_vat": str(self.total_incl_vat.amount),
        }


_WH_PER_KWH = Decimal(1000)


def price_session(*, terms: TariffTerms, usage: SessionUsage) -> PricedSession:
    currency = terms.currency
    energy_kwh = Decimal(usage.energy_wh) / _WH_PER_KWH
    lines: list[PriceLine] = []
    if terms.session_fee:
        fee = Money(amount=terms.session_fee, currency=currency)
        lines.append(
            PriceLine(
                description="Session fee",
                quantity=Decimal(1),
                unit="session",
                unit_price=fee,
                amount=fee.rounded(),
            )
        )
    if terms.energy_price_per_kwh and energy_kwh:
        unit_price = Money(amount=terms.energy_price_per_kwh, currency=currency)
        lines.append(
            PriceLine(
                description="Energy",
                quantity=energy_kwh,
                unit="kWh",
                unit_price=unit_price,
                amount=unit_price.times(energy_kwh).rounded(),
            )
        )
    total_excl = Money.zero(currency)
    for line in lines:
        total_excl = total_excl + line.amount
    vat = total_excl.times(terms.vat_percent / Decimal(100)).rounded()
    return PricedSession(
        currency=currency,
        lines=tuple(lines),
        total_excl_vat=total_excl,
        vat_percent=terms.vat_percent,
        vat=vat,
        total_incl_vat=total_excl + vat,
    )
