"""Station and EVSE request and response schemas. Read schemas validate from the service
results (a station with its EVSEs and connection state, an EVSE row); none has a field for
the password hash."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import Field

from evbilling.infra.http.schemas import Input, NotNull, Output, PageRead, ParsedAs
from evbilling.infra.secrets import MAX_STATION_PASSWORD, MIN_STATION_PASSWORD
from evbilling.stations.domain import (
    DEFAULT_MAX_POWER_W,
    MAX_CONNECTOR_ID,
    MAX_CONNECTORS,
    MAX_POWER_W,
    MIN_CONNECTORS,
    MIN_POWER_W,
    ConnectorStandard,
    EvseUid,
    PowerType,
    StationIdentity,
)
from evbilling.tariffs.schemas import TariffRef

Identity = Annotated[str, ParsedAs(StationIdentity)]
# Blank clears an EVSE ID like null; any case is accepted, stored upper-case.
Uid = Annotated[str, ParsedAs(EvseUid, blank_is_none=True)]

_PRICING_DISPLAY = (
    "The station shows prices and running costs on its display (OCA 'California pricing' "
    "DataTransfer messages)."
)


class StationCreate(Input):
    identity: Identity = Field(
        description="OCPP charge point id: the last segment of the station's WebSocket URL.",
        examples=["CP-1"],
    )
    location_id: int = Field(ge=1)
    tariff_id: TariffRef = None
    password: str | None = Field(
        default=None,
        min_length=16,
        max_length=40,
        description="Basic-auth password (OCPP security profile 1); generated when left out. "
        "Returned once, stored only as an argon2 hash.",
    )
    connectors: int = Field(
        default=1,
        ge=MIN_CONNECTORS,
        le=MAX_CONNECTORS,
        description="EVSEs to create, with connector ids 1..n.",
    )
    max_power_w: int = Field(default=DEFAULT_MAX_POWER_W, ge=MIN_POWER_W, le=MAX_POWER_W)
    pricing_display: bool = Field(default=False, description=_PRICING_DISPLAY)


class StationUpdate(Input):
    location_id: Annotated[int | None, NotNull] = Field(default=None, ge=1)
    tariff_id: TariffRef = None
    pricing_display: Annotated[bool | None, NotNull] = Field(
        default=None, description=_PRICING_DISPLAY
    )


class StationPasswordSet(Input):
    password: str | None = Field(
        default=None,
        min_length=MIN_STATION_PASSWORD,
        max_length=MAX_STATION_PASSWORD,
        description="Generated when left out.",
    )


class EvseRead(Output):
    id: int
    station_id: int
    connector_id: int
    uid: str | None = Field(description="EVSE ID such as DE*ABC*E1234.")
    max_power_w: int
    connector_standard: str | None
    power_type: str | None
    tariff_id: int | None
    status: str | None = Field(description="Latest OCPP StatusNotification status.")
    error_code: str | None
    status_at: datetime | None
    created_at: datetime
    updated_at: datetime


class EvseList(PageRead[EvseRead]):
    pass


class StationRead(Output):
    id: int
    identity: str
    location_id: int
    tariff_id: int | None
    pricing_display: bool = Field(description=_PRICING_DISPLAY)
    vendor: str | None = Field(description="From BootNotification (read-only).")
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
    password_pending: bool = Field(
        description="The station accepted a new password and has not logged in with it yet; "
        "until it does, both work."
    )
    connected: bool = Field(description="Has a live OCPP connection to this server.")
    evses: list[EvseRead]
    created_at: datetime
    updated_at: datetime


class StationCreated(StationRead):
    password: str = Field(description="Shown once; only its hash is stored.")


class StationRegistered(Output):
    """A registration as the command line prints it: the station, and beside it the password
    (shown once)."""

    station: StationRead
    password: str


class StationPasswordRead(Output):
    station_id: int
    identity: str
    password: str = Field(description="Shown once; only its hash is stored.")


class StationList(PageRead[StationRead]):
    pass


class EvseCreate(Input):
    connector_id: int | None = Field(
        default=None,
        ge=1,
        le=MAX_CONNECTOR_ID,
        description="OCPP connectorId; the next free one when left out.",
    )
    max_power_w: int = Field(default=DEFAULT_MAX_POWER_W, ge=MIN_POWER_W, le=MAX_POWER_W)
    uid: Uid | None = Field(default=None, examples=["DE*ABC*E1234"])
    connector_standard: ConnectorStandard | None = None
    power_type: PowerType | None = None
    tariff_id: TariffRef = None


class EvseUpdate(Input):
    max_power_w: Annotated[int | None, NotNull] = Field(
        default=None, ge=MIN_POWER_W, le=MAX_POWER_W
    )
    uid: Uid | None = Field(default=None, examples=["DE*ABC*E1234"])
    connector_standard: ConnectorStandard | None = None
    power_type: PowerType | None = None
    tariff_id: TariffRef = None
