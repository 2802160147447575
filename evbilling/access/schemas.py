"""What the access edges show: a newly issued API key (its secret appears only here, once)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class ApiKeyIssuedRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    operator_id: int
    key: str
