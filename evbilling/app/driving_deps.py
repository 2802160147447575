"""What the driver routes share: the hold policy quotes are sized with, the live view's pace,
public receipt links, and sending a station command once its transaction has ended."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query, Request

from evbilling.commands.service import OutgoingCommand
from evbilling.infra.context import ServiceContext
from evbilling.payments import card_flow, receipts
from evbilling.payments.domain import HoldPolicy

Timeout = Annotated[
    float, Query(alias="timeout", gt=0, le=120, description="seconds to wait for the station")
]
After = Annotated[int | None, Query(ge=1, description="The next_after of the previous page.")]
# The live view sends the running cost this often, and ends after at most this long (the
# app reconnects, or polls GET /sessions/{id}).
LIVE_INTERVAL_S = 5.0
LIVE_MAX_S = 1800.0


def hold_policy(request: Request) -> HoldPolicy:
    policy: HoldPolicy = getattr(request.app.state, "hold_policy", None) or card_flow.DEFAULT_POLICY
    return policy


def live_pace(request: Request) -> tuple[float, float]:
    state = request.app.state
    return (
        float(getattr(state, "live_interval_s", LIVE_INTERVAL_S)),
        float(getattr(state, "live_max_s", LIVE_MAX_S)),
    )


def receipt_url(request: Request, context: ServiceContext, session_id: int) -> str:
    """The public receipt page, on the server's public URL when payments know it."""
    edge = getattr(request.app.state, "payments", None)
    base = str(getattr(edge, "public_base_url", "") or "").rstrip("/")
    return base + receipts.receipt_path(hasher=context.api_keys, session_id=session_id)


async def deliver(
    context: ServiceContext, outgoing: OutgoingCommand, timeout_s: float
) -> dict[str, Any]:
    """Send outside any transaction: the unit of work that addressed the command has ended."""
    return await context.commands.send(
        station_identity=outgoing.station_identity,
        action=outgoing.action,
        payload=outgoing.payload,
        timeout_s=timeout_s,
    )
