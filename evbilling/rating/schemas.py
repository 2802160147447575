"""What the pricing API reads and returns; `Amount` is how money leaves every API."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer

# Money leaves the API as strings so no client parses it into a float by accident.
Amount = Annotated[Decimal, PlainSerializer(lambda value: str(value), return_type=str)]


class QuoteRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    evse_id: int
    tariff_id: int
    tariff_version: int
    tariff_name: str
    currency: str
    start: datetime
    duration_minutes: Amount
    energy_kwh: Amount
    total_excl_vat: Amount
    total_incl_vat: Amount = Field(
        description="Including VAT; equal to total_excl_vat where the tariff gives no VAT"
    )
    breakdown: dict[str, Any]
    display_text: str = Field(description="What a driver or the charger's display is shown")
