"""Operator command requests (one per OCPP action) and the station's answer."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from evbilling.infra.http.schemas import Input
from evbilling.infra.secrets import MAX_ROTATED_STATION_PASSWORD, MIN_STATION_PASSWORD
from evbilling.infra.station_link import AvailabilityType, ResetType, TriggerableMessage


class _Strict(Input):
    """A command's request body (unknown fields refused, values checked as every body is)."""


class RemoteStartCreate(_Strict):
    id_tag: str = Field(min_length=1, max_length=20)
    connector_id: int | None = Field(default=None, ge=1)


class RemoteStopCreate(_Strict):
    transaction_id: int = Field(ge=1)


class ResetCreate(_Strict):
    type: ResetType = ResetType.SOFT


class UnlockConnectorCreate(_Strict):
    connector_id: int = Field(ge=1)


class ChangeAvailabilityCreate(_Strict):
    connector_id: int = Field(ge=0, description="0 = the whole station")
    type: AvailabilityType


class GetConfigurationCreate(_Strict):
    keys: list[Annotated[str, Field(min_length=1, max_length=50)]] = Field(default_factory=list)


class ChangeConfigurationCreate(_Strict):
    key: str = Field(min_length=1, max_length=50)
    value: str = Field(max_length=500)


class TriggerMessageCreate(_Strict):
    requested_message: TriggerableMessage
    connector_id: int | None = Field(default=None, ge=1)


class CommandResponse(BaseModel):
    """What a station answered a command (validates from `CommandResult`)."""

    model_config = ConfigDict(from_attributes=True)

    station_identity: str
    action: str
    response: dict[str, Any] = Field(description="The station's answer, as it sent it.")


class PasswordRotationCreate(_Strict):
    password: str | None = Field(
        default=None,
        min_length=MIN_STATION_PASSWORD,
        max_length=MAX_ROTATED_STATION_PASSWORD,
        description="16..20 printable ASCII characters (sent hexadecimal as AuthorizationKey, "
        "at most 40 digits); 20 random characters when left out.",
    )


class PasswordRotationRead(BaseModel):
    """A password the station took; validates from `commands.rotation.RotatedPassword`."""

    model_config = ConfigDict(from_attributes=True)

    station_id: int
    identity: str
    password: str = Field(description="Shown once; only its hash is stored.")
    station_status: str = Field(
        description="Accepted, or RebootRequired (the station uses it after its next reboot)."
    )
