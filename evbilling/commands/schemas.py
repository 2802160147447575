"""Operator command requests (one per OCPP action) and the station's answer."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from evbilling.infra.http.schemas import Input
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
