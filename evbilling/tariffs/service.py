"""Tariff use cases: OCPI 2.2.1 Tariff documents, versioned. A new document makes version n+1
(kept in full), while name and default flag are plain attributes.

Every function is keyword-only, takes the caller's `operator_id` and treats a tariff of another
operator exactly like a missing one (NotFound). Functions flush but never commit.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from typing import Any, Final

from sqlalchemy.ext.asyncio import AsyncSession

from evbilling.infra.db.repository import DuplicateRow, OffsetPage, PageRequest, apply_changes
from evbilling.infra.db.updates import UNSET, Rules, Unset, check_reference, validate_fields
from evbilling.infra.validation import (
    MAX_NAME_LENGTH,
    check_page,
    flag,
    price,
    required_text,
)
from evbilling.infra.validation import currency as currency_code
from evbilling.kit.errors import Conflict, InvalidRequest, NotFound
from evbilling.models import Tariff, TariffVersion
from evbilling.tariffs.domain import (
    MAX_DECIMAL_PLACES,
    MAX_PRICE,
    MAX_VAT_PERCENT,
    InvalidTariff,
    decimal_places,
    dumps_ocpi,
    format_ocpi_datetime,
    loads_ocpi,
    parse_tariff,
    tariff_to_ocpi,
)
from evbilling.tariffs.domain import Tariff as OcpiTariff
from evbilling.tariffs.repository import TariffRepository

# OCPI requires a country code and a party id on every tariff; evbilling has none for an
# operator yet, so documents that leave them out get these placeholders ("XX" is an ISO 3166
# user-assigned code). Migration 0002 gives converted tariffs the same ones.
OCPI_PLACEHOLDER_COUNTRY_CODE: Final = "XX"
OCPI_PLACEHOLDER_PARTY_ID: Final = "EVB"

_RULES: Final[Rules] = {
    "name": lambda value: required_text(value, field="name", max_length=MAX_NAME_LENGTH),
    "is_default": lambda value: flag(value, field="is_default"),
}


async def check_tariff(
    db: AsyncSession, *, operator_id: int, tariff_id: object, field: str = "tariff_id"
) -> int | None:
    """A tariff another object refers to: None, or one of this operator's."""
    return await check_reference(
        TariffRepository(db), tariff_id, owner_id=operator_id, field=field, kind="tariff"
    )


def simple_tariff_ocpi(
    *,
    currency: str,
    energy_price_per_kwh: Decimal,
    session_fee: Decimal,
    vat_percent: Decimal,
    time_price_per_hour: Decimal | None = None,
    parking_price_per_hour: Decimal | None = None,
) -> dict[str, Any]:
    """The OCPI document of the common tariff: one element with a price per kWh (step 1 Wh),
    a fee per session (FLAT, left out when zero) and optionally a price per hour of charging
    (TIME) and of parking (PARKING_TIME), both billed per second (step 1 s); every component
    carries `vat_percent`. Without id, country_code, party_id and last_updated, which
    `create_tariff` fills in. Prices keep their digits (0.30 stays 0.30)."""
    vat = _amount(vat_percent, field="vat_percent", maximum=MAX_VAT_PERCENT)
    components: list[dict[str, Any]] = [
        {
            "type": "ENERGY",
            "price": _amount(energy_price_per_kwh, field="energy_price_per_kwh"),
            "vat": vat,
            "step_size": 1,
        }
    ]
    fee = _amount(session_fee, field="session_fee")
    if fee != 0:
        components.append({"type": "FLAT", "price": fee, "vat": vat, "step_size": 1})
    for kind, amount, field in (
        ("TIME", time_price_per_hour, "time_price_per_hour"),
        ("PARKING_TIME", parking_price_per_hour, "parking_price_per_hour"),
    ):
        if amount is not None:
            components.append(
                {"type": kind, "price": _amount(amount, field=field), "vat": vat, "step_size": 1}
            )
    return {
        "currency": currency_code(currency),
        "elements": [{"price_components": components}],
    }


def _amount(value: object, *, field: str, maximum: Decimal = MAX_PRICE) -> Decimal:
    """A price option of the simple tariff, within the bounds of any tariff's prices."""
    amount = price(value, field=field, maximum=maximum)
    if decimal_places(amount) > MAX_DECIMAL_PLACES:
        raise InvalidRequest(f"must have at most {MAX_DECIMAL_PLACES} decimal places", field=field)
    return amount


def _ocpi_document(
    value: object, *, ocpi_id: str, country_code: str, party_id: str, now: datetime
) -> dict[str, Any]:
    """The caller's OCPI document with what it may leave out filled in (a copy)."""
    if not isinstance(value, Mapping):
        raise InvalidRequest("must be an OCPI 2.2.1 Tariff object", field="ocpi")
    document = dict(value)
    for name, default in (
        ("id", ocpi_id),
        ("country_code", country_code),
        ("party_id", party_id),
        ("last_updated", format_ocpi_datetime(now)),
    ):
        if document.get(name) is None:
            document[name] = default
    return document


def _parse_ocpi(document: Mapping[str, Any]) -> OcpiTariff:
    """parse_tariff, its field errors turned into one InvalidRequest listing them all."""
    try:
        return parse_tariff(document)
    except InvalidTariff as exc:
        errors = tuple(
            ("ocpi" if error.path == "$" else f"ocpi.{error.path}", error.message)
            for error in exc.errors
        )
        raise InvalidRequest(
            "; ".join(f"{field}: {message}" for field, message in errors),
            field=errors[0][0],
            errors=errors,
        ) from exc


def _without_last_updated(document: str) -> dict[str, Any]:
    data: dict[str, Any] = loads_ocpi(document)
    data.pop("last_updated", None)
    return data


def _version(tariff: Tariff, *, now: datetime) -> TariffVersion:
    return TariffVersion(
        tariff_id=tariff.id, version=tariff.version, ocpi_json=tariff.ocpi_json, created_at=now
    )


async def create_tariff(
    *,
    db: AsyncSession,
    operator_id: int,
    name: str,
    ocpi: Mapping[str, Any],
    now: datetime,
    is_default: bool = False,
) -> Tariff:
    """Store an OCPI 2.2.1 Tariff as version 1 of a new tariff.

    `ocpi` is the JSON object with Decimal numbers (`loads_ocpi`); `id` (default: the new
    tariff's id as text), `country_code`/`party_id` (default: the OCPI placeholders) and
    `last_updated` (default: now) may be left out. Every OCPI field error is reported at
    once (InvalidRequest.errors, fields like `ocpi.elements[0].price_components[0].price`).
    """
    tariffs = TariffRepository(db)
    values = await validate_fields({"name": name, "is_default": is_default}, _RULES)
    # A placeholder id validates the rest; the real one is known after the insert.
    given_id = ocpi.get("id") if isinstance(ocpi, Mapping) else None
    document = _ocpi_document(
        ocpi,
        ocpi_id=uuid.uuid4().hex,
        country_code=OCPI_PLACEHOLDER_COUNTRY_CODE,
        party_id=OCPI_PLACEHOLDER_PARTY_ID,
        now=now,
    )
    tariff = _parse_ocpi(document)
    if given_id is not None and await tariffs.ocpi_id_taken(
        operator_id=operator_id, ocpi_id=tariff.id
    ):
        raise Conflict(f"a tariff with OCPI id {tariff.id!r} already exists")
    if values["is_default"]:
        await tariffs.lock_defaults(operator_id=operator_id)
        await tariffs.clear_default(operator_id=operator_id, keep_id=None, now=now)
    try:
        row = tariffs.add(
            Tariff(
                **values,
                operator_id=operator_id,
                ocpi_id=tariff.id,
                currency=tariff.currency,
                ocpi_json=dumps_ocpi(tariff_to_ocpi(tariff)),
                version=1,
                created_at=now,
                updated_at=now,
            )
        )
        await tariffs.flush()
        if given_id is None:
            ocpi_id = str(row.id)
            # An imported tariff may already use this number as its OCPI id.
            if await tariffs.ocpi_id_taken(
                operator_id=operator_id, ocpi_id=ocpi_id, except_id=row.id
            ):
                ocpi_id = str(uuid.uuid4())
            tariff = replace(tariff, id=ocpi_id)
            row.ocpi_id = ocpi_id
            row.ocpi_json = dumps_ocpi(tariff_to_ocpi(tariff))
        tariffs.add_version(_version(row, now=now))
        await tariffs.flush()
    except DuplicateRow as exc:
        raise Conflict(f"a tariff with OCPI id {tariff.id!r} already exists") from exc
    return row


async def _tariff_row(
    db: AsyncSession, *, operator_id: int, tariff_id: int, for_update: bool = False
) -> Tariff:
    tariffs = TariffRepository(db)
    load = tariffs.get_for_update if for_update else tariffs.get
    row = await load(id=tariff_id, owner_id=operator_id)
    if row is None:
        raise NotFound(kind="tariff", key=tariff_id)
    return row


async def get_tariff(*, db: AsyncSession, operator_id: int, tariff_id: int) -> Tariff:
    return await _tariff_row(db, operator_id=operator_id, tariff_id=tariff_id)


async def list_tariffs(
    *, db: AsyncSession, operator_id: int, page: PageRequest = PageRequest()
) -> OffsetPage[Tariff]:
    check_page(page)
    return await TariffRepository(db).list(
        operator_id=operator_id, limit=page.limit, offset=page.offset
    )


async def list_tariff_versions(
    *, db: AsyncSession, operator_id: int, tariff_id: int
) -> Sequence[TariffVersion]:
    """Every version of the tariff, oldest first."""
    row = await _tariff_row(db, operator_id=operator_id, tariff_id=tariff_id)
    return await TariffRepository(db).versions(tariff_id=row.id)


async def get_tariff_version(
    *, db: AsyncSession, operator_id: int, tariff_id: int, version: int
) -> TariffVersion:
    row = await _tariff_row(db, operator_id=operator_id, tariff_id=tariff_id)
    found = await TariffRepository(db).version(tariff_id=row.id, version=version)
    if found is None:
        raise NotFound(kind=f"tariff {tariff_id} version", key=version)
    return found


def _next_document(row: Tariff, ocpi: object, *, now: datetime) -> str | None:
    """The new version's document, or None when `ocpi` is the current one again (a new
    `last_updated` alone is no change)."""
    current: dict[str, Any] = loads_ocpi(row.ocpi_json)
    document = _ocpi_document(
        ocpi,
        ocpi_id=row.ocpi_id,
        country_code=str(current.get("country_code", OCPI_PLACEHOLDER_COUNTRY_CODE)),
        party_id=str(current.get("party_id", OCPI_PLACEHOLDER_PARTY_ID)),
        now=now,
    )
    tariff = _parse_ocpi(document)
    if tariff.id != row.ocpi_id:
        raise InvalidRequest(
            f"must be {row.ocpi_id!r}: a new version keeps the tariff's OCPI id",
            field="ocpi.id",
        )
    if tariff.currency != row.currency:
        raise InvalidRequest(
            f"must stay {row.currency}: a tariff's versions share one currency",
            field="ocpi.currency",
        )
    text = dumps_ocpi(tariff_to_ocpi(tariff))
    return None if _without_last_updated(text) == _without_last_updated(row.ocpi_json) else text


async def update_tariff(
    *,
    db: AsyncSession,
    operator_id: int,
    tariff_id: int,
    now: datetime,
    name: str | Unset = UNSET,
    is_default: bool | Unset = UNSET,
    ocpi: Mapping[str, Any] | Unset = UNSET,
) -> Tariff:
    """Rename, (un)make the default, and/or publish a new OCPI document as version n+1.

    Only a changed document makes a new version (`last_updated` alone is no change); started
    sessions keep the version they copied. The new document keeps the tariff's OCPI `id`
    (filled in when left out, like `country_code`/`party_id` from the current version) and
    its currency: sessions and reports rely on one currency per tariff."""
    tariffs = TariffRepository(db)
    row = await _tariff_row(db, operator_id=operator_id, tariff_id=tariff_id, for_update=True)
    changes = await validate_fields({"name": name, "is_default": is_default}, _RULES)
    new_document = None if ocpi is UNSET else _next_document(row, ocpi, now=now)
    if changes.get("is_default") and not row.is_default:
        await tariffs.lock_defaults(operator_id=operator_id)
        await tariffs.clear_default(operator_id=operator_id, keep_id=row.id, now=now)
    changed = apply_changes(row, changes)
    if new_document is not None:
        row.version += 1
        row.ocpi_json = new_document
        tariffs.add_version(_version(row, now=now))
        changed = True
    if changed:
        row.updated_at = now
        await tariffs.flush()
    return row
