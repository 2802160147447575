"""The operator's catalog: tariffs, locations, stations with their EVSEs, drivers, driver groups
and tokens.

Tariffs are OCPI 2.2.1 Tariff documents, versioned: a new document makes version n+1 (kept in
full), while name and default flag are plain attributes. A charge is priced with the first
tariff in force (OCPI `start_date_time`/`end_date_time`) along driver > driver's group > EVSE >
station > location > operator default (`resolve_tariff`).

Every function is keyword-only, takes the caller's `operator_id` and treats an object of another
operator exactly like a missing one (NotFound). Objects referenced from a request body (a
tariff, a location, a driver) that the operator does not own are InvalidRequest on that field.
Functions flush but never commit; the edge owns the transaction.

Partial updates take `UNSET` for "leave as is" and `None` for "clear" on nullable fields.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from enum import Enum, StrEnum
from typing import Any, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.ext.asyncio import AsyncSession

from evbilling.catalog.repository import (
    DriverGroupRepository,
    DriverRepository,
    DuplicateRow,
    EvseRepository,
    LocationRepository,
    StationRepository,
    TariffRepository,
    TokenRepository,
    tariff_assignments,
)
from evbilling.charging.domain import TokenStatus, TokenType, normalize_id_tag
from evbilling.infra.db.pagination import Page, PageRequest
from evbilling.infra.secrets import (
    WeakPassword,
    check_station_password,
    generate_station_password,
    hash_secret_async,
)
from evbilling.infra.station_link import StationCommandPort
from evbilling.kit.clock import InvalidTimestamp
from evbilling.kit.errors import Conflict, InvalidRequest, NotFound
from evbilling.models import (
    Driver,
    DriverGroup,
    Evse,
    Location,
    Station,
    Tariff,
    TariffVersion,
    Token,
)
from evbilling.money import InvalidCurrency, validate_currency
from evbilling.tariffs.domain import (
    InvalidTariff,
    dumps_ocpi,
    format_ocpi_datetime,
    loads_ocpi,
    parse_ocpi_datetime,
    parse_tariff,
    tariff_to_ocpi,
)
from evbilling.tariffs.domain import Tariff as OcpiTariff


class Unset(Enum):
    """Marks a partial-update argument that was not given (None means "clear it")."""

    UNSET = "unset"


UNSET: Final = Unset.UNSET

# Limits shared with the edges, so the API schema documents exactly what is enforced here.
MAX_PAGE_LIMIT: Final = 500
# OCPP charge point identity: the last segment of the WebSocket URL, unreserved URL characters.
IDENTITY_PATTERN: Final = r"^[A-Za-z0-9._~:-]{1,48}$"
MAX_IDENTITY_LENGTH: Final = 48
MIN_CONNECTORS: Final = 1
MAX_CONNECTORS: Final = 8
MAX_CONNECTOR_ID: Final = 255
MIN_POWER_W: Final = 1
MAX_POWER_W: Final = 1_000_000
DEFAULT_MAX_POWER_W: Final = 22_000
# eMI3 / ISO 15118 EVSE ID: country, operator, 'E', outlet id; '*' separators optional.
EVSE_UID_PATTERN: Final = r"^[A-Z]{2}\*?[A-Z0-9]{3}\*?E[A-Z0-9*]{1,30}$"
COUNTRY_PATTERN: Final = r"^[A-Z]{3}$"
MAX_ID_TAG_LENGTH: Final = 20
MAX_NAME_LENGTH: Final = 200
MAX_EMAIL_LENGTH: Final = 320
EMAIL_PATTERN: Final = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
MAX_PRICE: Final = Decimal(10) ** 12
# OCPI requires a country code and a party id on every tariff; evbilling has none for an
# operator yet, so documents that leave them out get these placeholders ("XX" is an ISO 3166
# user-assigned code). Migration 0002 gives converted tariffs the same ones.
OCPI_PLACEHOLDER_COUNTRY_CODE: Final = "XX"
OCPI_PLACEHOLDER_PARTY_ID: Final = "EVB"
MAX_OCPI_ID_LENGTH: Final = 36

_IDENTITY = re.compile(IDENTITY_PATTERN)
_EVSE_UID = re.compile(EVSE_UID_PATTERN)
_COUNTRY = re.compile(COUNTRY_PATTERN)
_EMAIL = re.compile(EMAIL_PATTERN)

StationKey = int | str
"""A station by id (int) or by identity (str); a str that is no identity but a number is
read as an id, so command lines can take either."""


class PowerType(StrEnum):
    AC_1_PHASE = "AC_1_PHASE"
    AC_3_PHASE = "AC_3_PHASE"
    DC = "DC"


class ConnectorStandard(StrEnum):
    """OCPI 2.2.1 ConnectorType."""

    CHADEMO = "CHADEMO"
    CHAOJI = "CHAOJI"
    DOMESTIC_A = "DOMESTIC_A"
    DOMESTIC_B = "DOMESTIC_B"
    DOMESTIC_C = "DOMESTIC_C"
    DOMESTIC_D = "DOMESTIC_D"
    DOMESTIC_E = "DOMESTIC_E"
    DOMESTIC_F = "DOMESTIC_F"
    DOMESTIC_G = "DOMESTIC_G"
    DOMESTIC_H = "DOMESTIC_H"
    DOMESTIC_I = "DOMESTIC_I"
    DOMESTIC_J = "DOMESTIC_J"
    DOMESTIC_K = "DOMESTIC_K"
    DOMESTIC_L = "DOMESTIC_L"
    DOMESTIC_M = "DOMESTIC_M"
    DOMESTIC_N = "DOMESTIC_N"
    DOMESTIC_O = "DOMESTIC_O"
    GBT_AC = "GBT_AC"
    GBT_DC = "GBT_DC"
    IEC_60309_2_SINGLE_16 = "IEC_60309_2_single_16"
    IEC_60309_2_THREE_16 = "IEC_60309_2_three_16"
    IEC_60309_2_THREE_32 = "IEC_60309_2_three_32"
    IEC_60309_2_THREE_64 = "IEC_60309_2_three_64"
    IEC_62196_T1 = "IEC_62196_T1"
    IEC_62196_T1_COMBO = "IEC_62196_T1_COMBO"
    IEC_62196_T2 = "IEC_62196_T2"
    IEC_62196_T2_COMBO = "IEC_62196_T2_COMBO"
    IEC_62196_T3A = "IEC_62196_T3A"
    IEC_62196_T3C = "IEC_62196_T3C"
    NEMA_5_20 = "NEMA_5_20"
    NEMA_6_30 = "NEMA_6_30"
    NEMA_6_50 = "NEMA_6_50"
    NEMA_10_30 = "NEMA_10_30"
    NEMA_10_50 = "NEMA_10_50"
    NEMA_14_30 = "NEMA_14_30"
    NEMA_14_50 = "NEMA_14_50"
    PANTOGRAPH_BOTTOM_UP = "PANTOGRAPH_BOTTOM_UP"
    PANTOGRAPH_TOP_DOWN = "PANTOGRAPH_TOP_DOWN"
    TESLA_R = "TESLA_R"
    TESLA_S = "TESLA_S"


# ---------------------------------------------------------------------------------------------
# Read models


@dataclass(frozen=True, slots=True)
class TariffView:
    id: int
    name: str
    ocpi_id: str
    currency: str
    is_default: bool
    version: int
    # The current version's OCPI 2.2.1 Tariff document, exact (read it with loads_ocpi).
    ocpi_json: str
    created_at: datetime
    updated_at: datetime

    @property
    def ocpi(self) -> dict[str, Any]:
        """The document as JSON data, numbers as Decimal."""
        data: dict[str, Any] = loads_ocpi(self.ocpi_json)
        return data


@dataclass(frozen=True, slots=True)
class TariffVersionView:
    tariff_id: int
    version: int
    ocpi_json: str
    created_at: datetime

    @property
    def ocpi(self) -> dict[str, Any]:
        data: dict[str, Any] = loads_ocpi(self.ocpi_json)
        return data


@dataclass(frozen=True, slots=True)
class TariffSnapshot:
    """The tariff version a charge is priced with; copied onto the session at its start."""

    tariff_id: int
    version: int
    name: str
    currency: str
    ocpi_json: str


@dataclass(frozen=True, slots=True)
class DriverGroupView:
    id: int
    name: str
    tariff_id: int | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class LocationView:
    id: int
    name: str
    address: str | None
    city: str | None
    postal_code: str | None
    country: str | None
    time_zone: str
    tariff_id: int | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class EvseView:
    id: int
    station_id: int
    connector_id: int
    uid: str | None
    max_power_w: int
    connector_standard: str | None
    power_type: str | None
    tariff_id: int | None
    # Latest StatusNotification, as the station reported it.
    status: str | None
    error_code: str | None
    status_at: datetime | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class StationView:
    """A station as the operator sees it; the password hash never leaves the database layer."""

    id: int
    identity: str
    location_id: int
    tariff_id: int | None
    pricing_display: bool
    # Reported by the station in BootNotification; read-only here.
    vendor: str | None
    model: str | None
    serial_number: str | None
    firmware_version: str | None
    iccid: str | None
    imsi: str | None
    meter_type: str | None
    meter_serial_number: str | None
    registration_status: str | None
    last_boot_at: datetime | None
    last_heartbeat_at: datetime | None
    password_changed_at: datetime | None
    connected: bool
    evses: tuple[EvseView, ...]
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class CreatedStation:
    station: StationView
    password: str  # shown once; only its argon2 hash is stored


@dataclass(frozen=True, slots=True)
class StationPassword:
    station_id: int
    identity: str
    password: str  # shown once; only its argon2 hash is stored


@dataclass(frozen=True, slots=True)
class DriverView:
    id: int
    name: str
    email: str | None
    tariff_id: int | None
    group_id: int | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class TokenView:
    id: int
    uid: str
    type: str
    status: str
    driver_id: int | None
    parent_id_tag: str | None
    expires_at: datetime | None
    created_at: datetime
    updated_at: datetime


def _tariff_view(row: Tariff) -> TariffView:
    return TariffView(
        id=row.id,
        name=row.name,
        ocpi_id=row.ocpi_id,
        currency=row.currency,
        is_default=row.is_default,
        version=row.version,
        ocpi_json=row.ocpi_json,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _tariff_version_view(row: TariffVersion) -> TariffVersionView:
    return TariffVersionView(
        tariff_id=row.tariff_id,
        version=row.version,
        ocpi_json=row.ocpi_json,
        created_at=row.created_at,
    )


def _driver_group_view(row: DriverGroup) -> DriverGroupView:
    return DriverGroupView(
        id=row.id,
        name=row.name,
        tariff_id=row.tariff_id,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _location_view(row: Location) -> LocationView:
    return LocationView(
        id=row.id,
        name=row.name,
        address=row.address,
        city=row.city,
        postal_code=row.postal_code,
        country=row.country,
        time_zone=row.time_zone,
        tariff_id=row.tariff_id,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _evse_view(row: Evse) -> EvseView:
    return EvseView(
        id=row.id,
        station_id=row.station_id,
        connector_id=row.connector_id,
        uid=row.uid,
        max_power_w=row.max_power_w,
        connector_standard=row.connector_standard,
        power_type=row.power_type,
        tariff_id=row.tariff_id,
        status=row.status,
        error_code=row.error_code,
        status_at=row.status_at,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _station_view(row: Station, *, evses: Sequence[Evse], connected: bool) -> StationView:
    return StationView(
        id=row.id,
        identity=row.identity,
        location_id=row.location_id,
        tariff_id=row.tariff_id,
        pricing_display=row.pricing_display,
        vendor=row.vendor,
        model=row.model,
        serial_number=row.serial_number,
        firmware_version=row.firmware_version,
        iccid=row.iccid,
        imsi=row.imsi,
        meter_type=row.meter_type,
        meter_serial_number=row.meter_serial_number,
        registration_status=row.registration_status,
        last_boot_at=row.last_boot_at,
        last_heartbeat_at=row.last_heartbeat_at,
        password_changed_at=row.password_changed_at,
        connected=connected,
        evses=tuple(_evse_view(evse) for evse in evses),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _driver_view(row: Driver) -> DriverView:
    return DriverView(
        id=row.id,
        name=row.name,
        email=row.email,
        tariff_id=row.tariff_id,
        group_id=row.group_id,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _token_view(row: Token) -> TokenView:
    return TokenView(
        id=row.id,
        uid=row.uid,
        type=row.type,
        status=row.status,
        driver_id=row.driver_id,
        parent_id_tag=row.parent_id_tag,
        expires_at=row.expires_at,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


# ---------------------------------------------------------------------------------------------
# Validation: each check names the field it rejects, so the API can point at it.


def _check_page(page: PageRequest) -> PageRequest:
    if not 1 <= page.limit <= MAX_PAGE_LIMIT:
        raise InvalidRequest(f"limit must be between 1 and {MAX_PAGE_LIMIT}", field="limit")
    if page.offset < 0:
        raise InvalidRequest("offset must not be negative", field="offset")
    return page


def _required_text(value: object, *, field: str, max_length: int) -> str:
    if not isinstance(value, str):
        raise InvalidRequest("is required and must be text", field=field)
    text = value.strip()
    if not text:
        raise InvalidRequest("must not be empty", field=field)
    if len(text) > max_length:
        raise InvalidRequest(f"must be at most {max_length} characters", field=field)
    return text


def _optional_text(value: object, *, field: str, max_length: int) -> str | None:
    """Blank text clears an optional field just like null does."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return _required_text(value, field=field, max_length=max_length)


def _int_in_range(value: object, *, field: str, low: int, high: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidRequest("must be an integer", field=field)
    if not low <= value <= high:
        raise InvalidRequest(f"must be between {low} and {high}", field=field)
    return value


def _time_zone(value: object) -> str:
    text = _required_text(value, field="time_zone", max_length=64)
    try:
        ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidRequest(
            f"unknown IANA time zone {text!r} (e.g. Europe/Berlin)", field="time_zone"
        ) from exc
    return text


def _country(value: object) -> str | None:
    text = _optional_text(value, field="country", max_length=3)
    if text is not None and not _COUNTRY.match(text):
        raise InvalidRequest(
            "must be an upper-case ISO 3166-1 alpha-3 code such as DEU", field="country"
        )
    return text


def _identity(value: object) -> str:
    if not isinstance(value, str) or not _IDENTITY.match(value):
        raise InvalidRequest(
            f"must be 1 to {MAX_IDENTITY_LENGTH} characters of A-Z a-z 0-9 . _ ~ : -",
            field="identity",
        )
    return value


def _password(value: object) -> str:
    if not isinstance(value, str):
        raise InvalidRequest("must be text", field="password")
    try:
        return check_station_password(value)
    except WeakPassword as exc:
        raise InvalidRequest(str(exc), field="password") from exc


def _evse_uid(value: object) -> str | None:
    text = _optional_text(value, field="uid", max_length=48)
    if text is None:
        return None
    # eMI3 IDs are case-insensitive; store them upper-case so uniqueness is exact.
    text = text.upper()
    if not _EVSE_UID.match(text):
        raise InvalidRequest("must be an EVSE ID such as DE*ABC*E1234", field="uid")
    return text


def _member(value: object, enum: type[StrEnum], *, field: str) -> str:
    try:
        return enum(str(value)).value
    except ValueError as exc:
        allowed = ", ".join(member.value for member in enum)
        raise InvalidRequest(f"must be one of {allowed}", field=field) from exc


def _optional_member(value: object, enum: type[StrEnum], *, field: str) -> str | None:
    return None if value is None else _member(value, enum, field=field)


def _email(value: object) -> str | None:
    text = _optional_text(value, field="email", max_length=MAX_EMAIL_LENGTH)
    if text is not None and not _EMAIL.match(text):
        raise InvalidRequest("must be an e-mail address such as ada@example.com", field="email")
    return text


def _id_tag(value: object, *, field: str) -> str:
    if not isinstance(value, str):
        raise InvalidRequest("must be text", field=field)
    tag = normalize_id_tag(value)
    if not 1 <= len(tag) <= MAX_ID_TAG_LENGTH:
        raise InvalidRequest(f"must be 1 to {MAX_ID_TAG_LENGTH} characters", field=field)
    if not tag.isascii() or not tag.isprintable():
        raise InvalidRequest("must be printable ASCII", field=field)
    return tag


def _optional_id_tag(value: object, *, field: str) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return _id_tag(value, field=field)


def _aware(value: object, *, field: str) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise InvalidRequest("must be a date-time with a time zone", field=field)
    return value.astimezone(UTC)


def _currency(value: object) -> str:
    if not isinstance(value, str):
        raise InvalidRequest("must be an ISO 4217 currency code such as EUR", field="currency")
    try:
        return validate_currency(value)
    except InvalidCurrency as exc:
        raise InvalidRequest(str(exc), field="currency") from exc


def _price(value: object, *, field: str, maximum: Decimal = MAX_PRICE) -> Decimal:
    """A non-negative, finite decimal kept exactly as given (0.30 stays 0.30)."""
    # Floats never reach money: a float here is a programming error at the edge.
    if isinstance(value, bool) or not isinstance(value, Decimal | int | str):
        raise InvalidRequest("must be a decimal number (given as a string)", field=field)
    try:
        amount = Decimal(value)
    except (InvalidOperation, ValueError) as exc:
        raise InvalidRequest("must be a decimal number", field=field) from exc
    if not amount.is_finite():
        raise InvalidRequest("must be a finite number", field=field)
    if amount < 0:
        raise InvalidRequest("must not be negative", field=field)
    if amount > maximum or amount >= MAX_PRICE:
        bound = f"at most {maximum}" if maximum < MAX_PRICE else f"less than {MAX_PRICE}"
        raise InvalidRequest(f"must be {bound}", field=field)
    return amount


def _flag(value: object, *, field: str) -> bool:
    if not isinstance(value, bool):
        raise InvalidRequest("must be true or false", field=field)
    return value


def _apply(row: object, changes: dict[str, object]) -> bool:
    """Set the changed attributes; True when anything actually changed."""
    changed = False
    for attribute, value in changes.items():
        if getattr(row, attribute) != value:
            setattr(row, attribute, value)
            changed = True
    return changed


async def _check_tariff(db: AsyncSession, *, operator_id: int, tariff_id: object) -> int | None:
    if tariff_id is None:
        return None
    tariff = _int_in_range(tariff_id, field="tariff_id", low=1, high=2**63 - 1)
    if not await TariffRepository(db).exists(operator_id=operator_id, tariff_id=tariff):
        raise InvalidRequest(f"tariff {tariff} not found", field="tariff_id")
    return tariff


async def _check_location(db: AsyncSession, *, operator_id: int, location_id: object) -> int:
    location = _int_in_range(location_id, field="location_id", low=1, high=2**63 - 1)
    if not await LocationRepository(db).exists(operator_id=operator_id, location_id=location):
        raise InvalidRequest(f"location {location} not found", field="location_id")
    return location


async def _check_group(db: AsyncSession, *, operator_id: int, group_id: object) -> int | None:
    if group_id is None:
        return None
    group = _int_in_range(group_id, field="group_id", low=1, high=2**63 - 1)
    if not await DriverGroupRepository(db).exists(operator_id=operator_id, group_id=group):
        raise InvalidRequest(f"driver group {group} not found", field="group_id")
    return group


async def _check_driver(db: AsyncSession, *, operator_id: int, driver_id: object) -> int | None:
    if driver_id is None:
        return None
    driver = _int_in_range(driver_id, field="driver_id", low=1, high=2**63 - 1)
    if not await DriverRepository(db).exists(operator_id=operator_id, driver_id=driver):
        raise InvalidRequest(f"driver {driver} not found", field="driver_id")
    return driver


# ---------------------------------------------------------------------------------------------
# Tariffs


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
    vat = _price(vat_percent, field="vat_percent", maximum=Decimal(100))
    components: list[dict[str, Any]] = [
        {
            "type": "ENERGY",
            "price": _price(energy_price_per_kwh, field="energy_price_per_kwh"),
            "vat": vat,
            "step_size": 1,
        }
    ]
    fee = _price(session_fee, field="session_fee")
    if fee != 0:
        components.append({"type": "FLAT", "price": fee, "vat": vat, "step_size": 1})
    for kind, price, field in (
        ("TIME", time_price_per_hour, "time_price_per_hour"),
        ("PARKING_TIME", parking_price_per_hour, "parking_price_per_hour"),
    ):
        if price is not None:
            components.append(
                {"type": kind, "price": _price(price, field=field), "vat": vat, "step_size": 1}
            )
    return {
        "currency": _currency(currency),
        "elements": [{"price_components": components}],
    }


def _ocpi_document(
    value: object,
    *,
    ocpi_id: str,
    country_code: str,
    party_id: str,
    now: datetime,
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


async def create_tariff(
    *,
    db: AsyncSession,
    operator_id: int,
    name: str,
    ocpi: Mapping[str, Any],
    now: datetime,
    is_default: bool = False,
) -> TariffView:
    """Store an OCPI 2.2.1 Tariff as version 1 of a new tariff.

    `ocpi` is the JSON object with Decimal numbers (`loads_ocpi`); `id` (default: the new
    tariff's id as text), `country_code`/`party_id` (default: the OCPI placeholders) and
    `last_updated` (default: now) may be left out. Every OCPI field error is reported at
    once (InvalidRequest.errors, fields like `ocpi.elements[0].price_components[0].price`).
    """
    tariffs = TariffRepository(db)
    name = _required_text(name, field="name", max_length=MAX_NAME_LENGTH)
    is_default = _flag(is_default, field="is_default")
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
    if is_default:
        await tariffs.lock_defaults(operator_id=operator_id)
        await tariffs.clear_default(operator_id=operator_id, keep_id=None, now=now)
    try:
        row = await tariffs.add(
            operator_id=operator_id,
            name=name,
            ocpi_id=tariff.id,
            currency=tariff.currency,
            ocpi_json=dumps_ocpi(tariff_to_ocpi(tariff)),
            is_default=is_default,
            now=now,
        )
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
        await tariffs.add_version(tariff_id=row.id, version=1, ocpi_json=row.ocpi_json, now=now)
    except DuplicateRow as exc:
        raise Conflict(f"a tariff with OCPI id {tariff.id!r} already exists") from exc
    return _tariff_view(row)


async def _tariff_row(
    db: AsyncSession, *, operator_id: int, tariff_id: int, for_update: bool = False
) -> Tariff:
    row = await TariffRepository(db).get(
        operator_id=operator_id, tariff_id=tariff_id, for_update=for_update
    )
    if row is None:
        raise NotFound(kind="tariff", key=tariff_id)
    return row


async def get_tariff(*, db: AsyncSession, operator_id: int, tariff_id: int) -> TariffView:
    return _tariff_view(await _tariff_row(db, operator_id=operator_id, tariff_id=tariff_id))


async def list_tariffs(
    *, db: AsyncSession, operator_id: int, page: PageRequest = PageRequest()
) -> Page[TariffView]:
    _check_page(page)
    found = await TariffRepository(db).list(
        operator_id=operator_id, limit=page.limit, offset=page.offset
    )
    return Page(
        items=[_tariff_view(row) for row in found.rows],
        total=found.total,
        limit=page.limit,
        offset=page.offset,
    )


async def list_tariff_versions(
    *, db: AsyncSession, operator_id: int, tariff_id: int
) -> list[TariffVersionView]:
    """Every version of the tariff, oldest first."""
    row = await _tariff_row(db, operator_id=operator_id, tariff_id=tariff_id)
    return [
        _tariff_version_view(version)
        for version in await TariffRepository(db).versions(tariff_id=row.id)
    ]


async def get_tariff_version(
    *, db: AsyncSession, operator_id: int, tariff_id: int, version: int
) -> TariffVersionView:
    row = await _tariff_row(db, operator_id=operator_id, tariff_id=tariff_id)
    found = await TariffRepository(db).version(tariff_id=row.id, version=version)
    if found is None:
        raise NotFound(kind=f"tariff {tariff_id} version", key=version)
    return _tariff_version_view(found)


async def update_tariff(
    *,
    db: AsyncSession,
    operator_id: int,
    tariff_id: int,
    now: datetime,
    name: str | Unset = UNSET,
    is_default: bool | Unset = UNSET,
    ocpi: Mapping[str, Any] | Unset = UNSET,
) -> TariffView:
    """Rename, (un)make the default, and/or publish a new OCPI document as version n+1.

    Only a changed document makes a new version (`last_updated` alone is no change); started
    sessions keep the version they copied. The new document keeps the tariff's OCPI `id`
    (filled in when left out, like `country_code`/`party_id` from the current version) and
    its currency: sessions and reports rely on one currency per tariff."""
    tariffs = TariffRepository(db)
    row = await _tariff_row(db, operator_id=operator_id, tariff_id=tariff_id, for_update=True)
    changes: dict[str, object] = {}
    if name is not UNSET:
        changes["name"] = _required_text(name, field="name", max_length=MAX_NAME_LENGTH)
    if is_default is not UNSET:
        changes["is_default"] = _flag(is_default, field="is_default")
    new_document: str | None = None
    if ocpi is not UNSET:
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
        if _without_last_updated(text) != _without_last_updated(row.ocpi_json):
            new_document = text
    if changes.get("is_default") and not row.is_default:
        await tariffs.lock_defaults(operator_id=operator_id)
        await tariffs.clear_default(operator_id=operator_id, keep_id=row.id, now=now)
    changed = _apply(row, changes)
    if new_document is not None:
        row.version += 1
        row.ocpi_json = new_document
        await tariffs.add_version(
            tariff_id=row.id, version=row.version, ocpi_json=new_document, now=now
        )
        changed = True
    if changed:
        row.updated_at = now
        await tariffs.flush()
    return _tariff_view(row)


def _in_force(row: Tariff, at: datetime) -> bool:
    """Whether `at` lies in the tariff's OCPI validity window [start_date_time, end_date_time)."""
    document: dict[str, Any] = loads_ocpi(row.ocpi_json)
    try:
        start = document.get("start_date_time")
        if start is not None and at < parse_ocpi_datetime(start):
            return False
        end = document.get("end_date_time")
        return end is None or at < parse_ocpi_datetime(end)
    except InvalidTimestamp:  # never stored: documents are validated on write
        return False


def _snapshot(row: Tariff) -> TariffSnapshot:
    return TariffSnapshot(
        tariff_id=row.id,
        version=row.version,
        name=row.name,
        currency=row.currency,
        ocpi_json=row.ocpi_json,
    )


async def resolve_tariff(
    *,
    db: AsyncSession,
    operator_id: int,
    station_id: int,
    evse_id: int | None,
    driver_id: int | None,
    at: datetime,
) -> TariffSnapshot | None:
    """The tariff version a charge starting at `at` on this station/EVSE by this driver is
    priced with, or None when none applies.

    Precedence: driver override > driver's group > EVSE > station > location > operator
    default. A tariff whose OCPI validity window (start_date_time inclusive, end_date_time
    exclusive) does not contain `at` is passed over for the next level."""
    moment = _aware(at, field="at")
    assert moment is not None
    assignments = await tariff_assignments(
        db, operator_id=operator_id, station_id=station_id, evse_id=evse_id, driver_id=driver_id
    )
    if assignments is None:
        raise NotFound(kind="station", key=station_id)
    if not assignments.evse_found:
        raise NotFound(kind="evse", key=evse_id)
    if not assignments.driver_found:
        raise NotFound(kind="driver", key=driver_id)
    candidates = [
        candidate
        for candidate in (
            assignments.driver,
            assignments.group,
            assignments.evse,
            assignments.station,
            assignments.location,
        )
        if candidate is not None
    ]
    tariffs = TariffRepository(db)
    rows = await tariffs.get_many(operator_id=operator_id, tariff_ids=candidates)
    for candidate in candidates:
        row = rows.get(candidate)
        if row is not None and _in_force(row, moment):
            return _snapshot(row)
    default = await tariffs.default_for(operator_id=operator_id)
    if default is not None and _in_force(default, moment):
        return _snapshot(default)
    return None


async def station_time_zone(*, db: AsyncSession, operator_id: int, station_id: int) -> str:
    """The IANA time zone a station's charges are rated in: its location's."""
    zone = await StationRepository(db).time_zone(operator_id=operator_id, station_id=station_id)
    if zone is None:
        raise NotFound(kind="station", key=station_id)
    return zone


# ---------------------------------------------------------------------------------------------
# Locations


async def create_location(
    *,
    db: AsyncSession,
    operator_id: int,
    name: str,
    time_zone: str,
    now: datetime,
    address: str | None = None,
    city: str | None = None,
    postal_code: str | None = None,
    country: str | None = None,
    tariff_id: int | None = None,
) -> LocationView:
    row = await LocationRepository(db).add(
        operator_id=operator_id,
        name=_required_text(name, field="name", max_length=MAX_NAME_LENGTH),
        address=_optional_text(address, field="address", max_length=300),
        city=_optional_text(city, field="city", max_length=100),
        postal_code=_optional_text(postal_code, field="postal_code", max_length=20),
        country=_country(country),
        time_zone=_time_zone(time_zone),
        tariff_id=await _check_tariff(db, operator_id=operator_id, tariff_id=tariff_id),
        now=now,
    )
    return _location_view(row)


async def get_location(*, db: AsyncSession, operator_id: int, location_id: int) -> LocationView:
    row = await LocationRepository(db).get(operator_id=operator_id, location_id=location_id)
    if row is None:
        raise NotFound(kind="location", key=location_id)
    return _location_view(row)


async def list_locations(
    *, db: AsyncSession, operator_id: int, page: PageRequest = PageRequest()
) -> Page[LocationView]:
    _check_page(page)
    found = await LocationRepository(db).list(
        operator_id=operator_id, limit=page.limit, offset=page.offset
    )
    return Page(
        items=[_location_view(row) for row in found.rows],
        total=found.total,
        limit=page.limit,
        offset=page.offset,
    )


async def update_location(
    *,
    db: AsyncSession,
    operator_id: int,
    location_id: int,
    now: datetime,
    name: str | Unset = UNSET,
    address: str | Unset | None = UNSET,
    city: str | Unset | None = UNSET,
    postal_code: str | Unset | None = UNSET,
    country: str | Unset | None = UNSET,
    time_zone: str | Unset = UNSET,
    tariff_id: int | Unset | None = UNSET,
) -> LocationView:
    locations = LocationRepository(db)
    row = await locations.get(operator_id=operator_id, location_id=location_id, for_update=True)
    if row is None:
        raise NotFound(kind="location", key=location_id)
    changes: dict[str, object] = {}
    if name is not UNSET:
        changes["name"] = _required_text(name, field="name", max_length=MAX_NAME_LENGTH)
    if address is not UNSET:
        changes["address"] = _optional_text(address, field="address", max_length=300)
    if city is not UNSET:
        changes["city"] = _optional_text(city, field="city", max_length=100)
    if postal_code is not UNSET:
        changes["postal_code"] = _optional_text(postal_code, field="postal_code", max_length=20)
    if country is not UNSET:
        changes["country"] = _country(country)
    if time_zone is not UNSET:
        changes["time_zone"] = _time_zone(time_zone)
    if tariff_id is not UNSET:
        changes["tariff_id"] = await _check_tariff(db, operator_id=operator_id, tariff_id=tariff_id)
    if _apply(row, changes):
        row.updated_at = now
        await locations.flush()
    return _location_view(row)


# ---------------------------------------------------------------------------------------------
# Stations and EVSEs


async def _station_row(
    db: AsyncSession, *, operator_id: int, station: StationKey, for_update: bool = False
) -> Station:
    stations = StationRepository(db)
    row: Station | None = None
    key: int | None = None
    if isinstance(station, str):
        row = await stations.by_identity(
            identity=station, operator_id=operator_id, for_update=for_update
        )
        if row is None and station.isascii() and station.isdigit():
            key = int(station)
    else:
        key = station
    if row is None and key is not None:
        row = await stations.get(operator_id=operator_id, station_id=key, for_update=for_update)
    if row is None:
        raise NotFound(kind="station", key=station)
    return row


async def _view_of_station(
    db: AsyncSession, row: Station, *, commands: StationCommandPort
) -> StationView:
    evses = await EvseRepository(db).for_stations(station_ids=[row.id])
    return _station_view(row, evses=evses[row.id], connected=commands.is_connected(row.identity))


async def create_station(
    *,
    db: AsyncSession,
    operator_id: int,
    identity: str,
    location_id: int,
    now: datetime,
    commands: StationCommandPort,
    tariff_id: int | None = None,
    password: str | None = None,
    connectors: int = 1,
    max_power_w: int = DEFAULT_MAX_POWER_W,
    pricing_display: bool = False,
) -> CreatedStation:
    """Register a station and its EVSEs (connector ids 1..connectors). The password (given or
    generated) is returned once and stored only as an argon2 hash."""
    identity = _identity(identity)
    connectors = _int_in_range(
        connectors, field="connectors", low=MIN_CONNECTORS, high=MAX_CONNECTORS
    )
    max_power_w = _int_in_range(max_power_w, field="max_power_w", low=MIN_POWER_W, high=MAX_POWER_W)
    plain = generate_station_password() if password is None else _password(password)
    pricing_display = _flag(pricing_display, field="pricing_display")
    location = await _check_location(db, operator_id=operator_id, location_id=location_id)
    tariff = await _check_tariff(db, operator_id=operator_id, tariff_id=tariff_id)
    stations = StationRepository(db)
    if await stations.identity_taken(identity=identity):
        raise Conflict(f"station identity {identity!r} is already registered")
    try:
        row = await stations.add(
            operator_id=operator_id,
            location_id=location,
            identity=identity,
            password_hash=await hash_secret_async(plain),
            tariff_id=tariff,
            pricing_display=pricing_display,
            now=now,
        )
    except DuplicateRow as exc:
        raise Conflict(f"station identity {identity!r} is already registered") from exc
    evse_repository = EvseRepository(db)
    evses = [
        await evse_repository.add(
            station_id=row.id,
            connector_id=connector_id,
            max_power_w=max_power_w,
            uid=None,
            connector_standard=None,
            power_type=None,
            tariff_id=None,
            now=now,
        )
        for connector_id in range(1, connectors + 1)
    ]
    view = _station_view(row, evses=evses, connected=commands.is_connected(row.identity))
    return CreatedStation(station=view, password=plain)


async def get_station(
    *, db: AsyncSession, operator_id: int, station: StationKey, commands: StationCommandPort
) -> StationView:
    row = await _station_row(db, operator_id=operator_id, station=station)
    return await _view_of_station(db, row, commands=commands)


async def list_stations(
    *,
    db: AsyncSession,
    operator_id: int,
    commands: StationCommandPort,
    location_id: int | None = None,
    page: PageRequest = PageRequest(),
) -> Page[StationView]:
    _check_page(page)
    found = await StationRepository(db).list(
        operator_id=operator_id, location_id=location_id, limit=page.limit, offset=page.offset
    )
    evses = await EvseRepository(db).for_stations(station_ids=[row.id for row in found.rows])
    return Page(
        items=[
            _station_view(row, evses=evses[row.id], connected=commands.is_connected(row.identity))
            for row in found.rows
        ],
        total=found.total,
        limit=page.limit,
        offset=page.offset,
    )


async def update_station(
    *,
    db: AsyncSession,
    operator_id: int,
    station: StationKey,
    now: datetime,
    commands: StationCommandPort,
    location_id: int | Unset = UNSET,
    tariff_id: int | Unset | None = UNSET,
    pricing_display: bool | Unset = UNSET,
) -> StationView:
    """Move a station, (un)assign its tariff or switch its price display. The identity is
    fixed: it is the station's login name and part of its configured URL; register a new
    station to change it."""
    row = await _station_row(db, operator_id=operator_id, station=station, for_update=True)
    changes: dict[str, object] = {}
    if location_id is not UNSET:
        changes["location_id"] = await _check_location(
            db, operator_id=operator_id, location_id=location_id
        )
    if tariff_id is not UNSET:
        changes["tariff_id"] = await _check_tariff(db, operator_id=operator_id, tariff_id=tariff_id)
    if pricing_display is not UNSET:
        changes["pricing_display"] = _flag(pricing_display, field="pricing_display")
    if _apply(row, changes):
        row.updated_at = now
        await StationRepository(db).flush()
    return await _view_of_station(db, row, commands=commands)


async def rotate_station_password(
    *,
    db: AsyncSession,
    operator_id: int,
    station: StationKey,
    now: datetime,
    password: str | None = None,
) -> StationPassword:
    """Replace the station's Basic-auth password; the new one (given or generated) is returned
    once. The station must then be given it (ChangeConfiguration AuthorizationKey)."""
    plain = generate_station_password() if password is None else _password(password)
    row = await _station_row(db, operator_id=operator_id, station=station, for_update=True)
    row.password_hash = await hash_secret_async(plain)
    row.password_changed_at = now
    row.updated_at = now
    await StationRepository(db).flush()
    return StationPassword(station_id=row.id, identity=row.identity, password=plain)


async def list_evses(
    *,
    db: AsyncSession,
    operator_id: int,
    station: StationKey,
    page: PageRequest = PageRequest(),
) -> Page[EvseView]:
    _check_page(page)
    row = await _station_row(db, operator_id=operator_id, station=station)
    found = await EvseRepository(db).list_for_station(
        station_id=row.id, limit=page.limit, offset=page.offset
    )
    return Page(
        items=[_evse_view(evse) for evse in found.rows],
        total=found.total,
        limit=page.limit,
        offset=page.offset,
    )


async def get_evse(*, db: AsyncSession, operator_id: int, evse_id: int) -> EvseView:
    row = await EvseRepository(db).get(operator_id=operator_id, evse_id=evse_id)
    if row is None:
        raise NotFound(kind="evse", key=evse_id)
    return _evse_view(row)


async def create_evse(
    *,
    db: AsyncSession,
    operator_id: int,
    station: StationKey,
    now: datetime,
    connector_id: int | None = None,
    max_power_w: int = DEFAULT_MAX_POWER_W,
    uid: str | None = None,
    connector_standard: str | None = None,
    power_type: str | None = None,
    tariff_id: int | None = None,
) -> EvseView:
    """Add an EVSE to a station; without a connector id it takes the next free one."""
    row = await _station_row(db, operator_id=operator_id, station=station, for_update=True)
    evses = EvseRepository(db)
    if connector_id is None:
        connector = await evses.highest_connector_id(station_id=row.id) + 1
    else:
        connector = _int_in_range(connector_id, field="connector_id", low=1, high=MAX_CONNECTOR_ID)
    max_power_w = _int_in_range(max_power_w, field="max_power_w", low=MIN_POWER_W, high=MAX_POWER_W)
    evse_uid = _evse_uid(uid)
    standard = _optional_member(connector_standard, ConnectorStandard, field="connector_standard")
    power = _optional_member(power_type, PowerType, field="power_type")
    tariff = await _check_tariff(db, operator_id=operator_id, tariff_id=tariff_id)
    if connector > MAX_CONNECTOR_ID:
        raise InvalidRequest(
            f"a station has at most {MAX_CONNECTOR_ID} connectors", field="connector_id"
        )
    if await evses.by_connector(station_id=row.id, connector_id=connector) is not None:
        raise Conflict(f"station {row.identity} already has connector {connector}")
    if evse_uid is not None and await evses.uid_taken(uid=evse_uid):
        raise Conflict(f"EVSE ID {evse_uid} is already in use")
    try:
        evse = await evses.add(
            station_id=row.id,
            connector_id=connector,
            max_power_w=max_power_w,
            uid=evse_uid,
            connector_standard=standard,
            power_type=power,
            tariff_id=tariff,
            now=now,
        )
    except DuplicateRow as exc:
        raise Conflict(f"station {row.identity} connector {connector} or EVSE ID exists") from exc
    return _evse_view(evse)


async def update_evse(
    *,
    db: AsyncSession,
    operator_id: int,
    evse_id: int,
    now: datetime,
    max_power_w: int | Unset = UNSET,
    uid: str | Unset | None = UNSET,
    connector_standard: str | Unset | None = UNSET,
    power_type: str | Unset | None = UNSET,
    tariff_id: int | Unset | None = UNSET,
) -> EvseView:
    evses = EvseRepository(db)
    row = await evses.get(operator_id=operator_id, evse_id=evse_id, for_update=True)
    if row is None:
        raise NotFound(kind="evse", key=evse_id)
    changes: dict[str, object] = {}
    if max_power_w is not UNSET:
        changes["max_power_w"] = _int_in_range(
            max_power_w, field="max_power_w", low=MIN_POWER_W, high=MAX_POWER_W
        )
    if uid is not UNSET:
        evse_uid = _evse_uid(uid)
        if evse_uid is not None and await evses.uid_taken(uid=evse_uid, except_id=row.id):
            raise Conflict(f"EVSE ID {evse_uid} is already in use")
        changes["uid"] = evse_uid
    if connector_standard is not UNSET:
        changes["connector_standard"] = _optional_member(
            connector_standard, ConnectorStandard, field="connector_standard"
        )
    if power_type is not UNSET:
        changes["power_type"] = _optional_member(power_type, PowerType, field="power_type")
    if tariff_id is not UNSET:
        changes["tariff_id"] = await _check_tariff(db, operator_id=operator_id, tariff_id=tariff_id)
    if _apply(row, changes):
        row.updated_at = now
        try:
            await evses.flush()
        except DuplicateRow as exc:
            raise Conflict(f"EVSE ID {row.uid} is already in use") from exc
    return _evse_view(row)


# ---------------------------------------------------------------------------------------------
# Drivers


async def create_driver(
    *,
    db: AsyncSession,
    operator_id: int,
    name: str,
    now: datetime,
    email: str | None = None,
    tariff_id: int | None = None,
    group_id: int | None = None,
) -> DriverView:
    row = await DriverRepository(db).add(
        operator_id=operator_id,
        name=_required_text(name, field="name", max_length=MAX_NAME_LENGTH),
        email=_email(email),
        tariff_id=await _check_tariff(db, operator_id=operator_id, tariff_id=tariff_id),
        group_id=await _check_group(db, operator_id=operator_id, group_id=group_id),
        now=now,
    )
    return _driver_view(row)


async def get_driver(*, db: AsyncSession, operator_id: int, driver_id: int) -> DriverView:
    row = await DriverRepository(db).get(operator_id=operator_id, driver_id=driver_id)
    if row is None:
        raise NotFound(kind="driver", key=driver_id)
    return _driver_view(row)


async def list_drivers(
    *, db: AsyncSession, operator_id: int, page: PageRequest = PageRequest()
) -> Page[DriverView]:
    _check_page(page)
    found = await DriverRepository(db).list(
        operator_id=operator_id, limit=page.limit, offset=page.offset
    )
    return Page(
        items=[_driver_view(row) for row in found.rows],
        total=found.total,
        limit=page.limit,
        offset=page.offset,
    )


async def update_driver(
    *,
    db: AsyncSession,
    operator_id: int,
    driver_id: int,
    now: datetime,
    name: str | Unset = UNSET,
    email: str | Unset | None = UNSET,
    tariff_id: int | Unset | None = UNSET,
    group_id: int | Unset | None = UNSET,
) -> DriverView:
    drivers = DriverRepository(db)
    row = await drivers.get(operator_id=operator_id, driver_id=driver_id, for_update=True)
    if row is None:
        raise NotFound(kind="driver", key=driver_id)
    changes: dict[str, object] = {}
    if name is not UNSET:
        changes["name"] = _required_text(name, field="name", max_length=MAX_NAME_LENGTH)
    if email is not UNSET:
        changes["email"] = _email(email)
    if tariff_id is not UNSET:
        changes["tariff_id"] = await _check_tariff(db, operator_id=operator_id, tariff_id=tariff_id)
    if group_id is not UNSET:
        changes["group_id"] = await _check_group(db, operator_id=operator_id, group_id=group_id)
    if _apply(row, changes):
        row.updated_at = now
        await drivers.flush()
    return _driver_view(row)


# ---------------------------------------------------------------------------------------------
# Driver groups (fleets)


async def create_driver_group(
    *,
    db: AsyncSession,
    operator_id: int,
    name: str,
    now: datetime,
    tariff_id: int | None = None,
) -> DriverGroupView:
    """A group of drivers (a fleet); its tariff prices its drivers' charges unless a driver
    has a tariff of their own."""
    row = await DriverGroupRepository(db).add(
        operator_id=operator_id,
        name=_required_text(name, field="name", max_length=MAX_NAME_LENGTH),
        tariff_id=await _check_tariff(db, operator_id=operator_id, tariff_id=tariff_id),
        now=now,
    )
    return _driver_group_view(row)


async def get_driver_group(*, db: AsyncSession, operator_id: int, group_id: int) -> DriverGroupView:
    row = await DriverGroupRepository(db).get(operator_id=operator_id, group_id=group_id)
    if row is None:
        raise NotFound(kind="driver group", key=group_id)
    return _driver_group_view(row)


async def list_driver_groups(
    *, db: AsyncSession, operator_id: int, page: PageRequest = PageRequest()
) -> Page[DriverGroupView]:
    _check_page(page)
    found = await DriverGroupRepository(db).list(
        operator_id=operator_id, limit=page.limit, offset=page.offset
    )
    return Page(
        items=[_driver_group_view(row) for row in found.rows],
        total=found.total,
        limit=page.limit,
        offset=page.offset,
    )


async def update_driver_group(
    *,
    db: AsyncSession,
    operator_id: int,
    group_id: int,
    now: datetime,
    name: str | Unset = UNSET,
    tariff_id: int | Unset | None = UNSET,
) -> DriverGroupView:
    groups = DriverGroupRepository(db)
    row = await groups.get(operator_id=operator_id, group_id=group_id, for_update=True)
    if row is None:
        raise NotFound(kind="driver group", key=group_id)
    changes: dict[str, object] = {}
    if name is not UNSET:
        changes["name"] = _required_text(name, field="name", max_length=MAX_NAME_LENGTH)
    if tariff_id is not UNSET:
        changes["tariff_id"] = await _check_tariff(db, operator_id=operator_id, tariff_id=tariff_id)
    if _apply(row, changes):
        row.updated_at = now
        await groups.flush()
    return _driver_group_view(row)


# ---------------------------------------------------------------------------------------------
# Tokens


async def create_token(
    *,
    db: AsyncSession,
    operator_id: int,
    uid: str,
    now: datetime,
    type: TokenType = TokenType.RFID,
    status: TokenStatus = TokenStatus.ACTIVE,
    driver_id: int | None = None,
    expires_at: datetime | None = None,
    parent_id_tag: str | None = None,
) -> TokenView:
    """Register an idTag; UIDs are stored upper-case and unique per operator."""
    tokens = TokenRepository(db)
    tag = _id_tag(uid, field="uid")
    token_type = _member(type, TokenType, field="type")
    token_status = _member(status, TokenStatus, field="status")
    expiry = _aware(expires_at, field="expires_at")
    parent = _optional_id_tag(parent_id_tag, field="parent_id_tag")
    driver = await _check_driver(db, operator_id=operator_id, driver_id=driver_id)
    if await tokens.by_uid(operator_id=operator_id, uid=tag) is not None:
        raise Conflict(f"token {tag} already exists")
    try:
        row = await tokens.add(
            operator_id=operator_id,
            uid=tag,
            type=token_type,
            status=token_status,
            driver_id=driver,
            parent_id_tag=parent,
            expires_at=expiry,
            now=now,
        )
    except DuplicateRow as exc:
        raise Conflict(f"token {tag} already exists") from exc
    return _token_view(row)


async def get_token(*, db: AsyncSession, operator_id: int, token_id: int) -> TokenView:
    row = await TokenRepository(db).get(operator_id=operator_id, token_id=token_id)
    if row is None:
        raise NotFound(kind="token", key=token_id)
    return _token_view(row)


async def list_tokens(
    *,
    db: AsyncSession,
    operator_id: int,
    driver_id: int | None = None,
    status: TokenStatus | None = None,
    uid: str | None = None,
    page: PageRequest = PageRequest(),
) -> Page[TokenView]:
    _check_page(page)
    found = await TokenRepository(db).list(
        operator_id=operator_id,
        driver_id=driver_id,
        status=_optional_member(status, TokenStatus, field="status"),
        # Filter with the stored form, so "04a2b3c4" finds 04A2B3C4.
        uid=None if uid is None else normalize_id_tag(uid),
        limit=page.limit,
        offset=page.offset,
    )
    return Page(
        items=[_token_view(row) for row in found.rows],
        total=found.total,
        limit=page.limit,
        offset=page.offset,
    )


async def update_token(
    *,
    db: AsyncSession,
    operator_id: int,
    token_id: int,
    now: datetime,
    uid: str | Unset = UNSET,
    type: TokenType | Unset = UNSET,
    status: TokenStatus | Unset = UNSET,
    driver_id: int | Unset | None = UNSET,
    expires_at: datetime | Unset | None = UNSET,
    parent_id_tag: str | Unset | None = UNSET,
) -> TokenView:
    tokens = TokenRepository(db)
    row = await tokens.get(operator_id=operator_id, token_id=token_id, for_update=True)
    if row is None:
        raise NotFound(kind="token", key=token_id)
    changes: dict[str, object] = {}
    if uid is not UNSET:
        tag = _id_tag(uid, field="uid")
        other = await tokens.by_uid(operator_id=operator_id, uid=tag)
        if other is not None and other.id != row.id:
            raise Conflict(f"token {tag} already exists")
        changes["uid"] = tag
    if type is not UNSET:
        changes["type"] = _member(type, TokenType, field="type")
    if status is not UNSET:
        changes["status"] = _member(status, TokenStatus, field="status")
    if driver_id is not UNSET:
        changes["driver_id"] = await _check_driver(db, operator_id=operator_id, driver_id=driver_id)
    if expires_at is not UNSET:
        changes["expires_at"] = _aware(expires_at, field="expires_at")
    if parent_id_tag is not UNSET:
        changes["parent_id_tag"] = _optional_id_tag(parent_id_tag, field="parent_id_tag")
    if _apply(row, changes):
        row.updated_at = now
        try:
            await tokens.flush()
        except DuplicateRow as exc:
            raise Conflict(f"token {row.uid} already exists") from exc
    return _token_view(row)
