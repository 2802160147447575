"""One connected station: decodes each frame strictly, runs the use case in its own committed
transaction, then answers. Built on the `ocpp` library's ChargePoint for outbound calls
(unique ids, response matching, timeouts) and its error types; inbound frames go through
evbilling's compiled validators instead of the library's per-message jsonschema path."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine
from datetime import UTC, datetime
from typing import Any, Protocol

import orjson
from ocpp.messages import Call, CallError, CallResult
from ocpp.v16 import ChargePoint

from evbilling.charging import service as charging
from evbilling.charging.domain import AuthorizationStatus
from evbilling.charging.pricing import SessionCost
from evbilling.charging.service import MeterValueIn, SampledValueIn, StationInfo, StationRef
from evbilling.infra.db.group_commit import GroupCommit
from evbilling.infra.logging import get_logger
from evbilling.infra.station_link import CommandRejected, StationTimeout
from evbilling.kit import EVBillingError, parse_utc_timestamp
from evbilling.ocpp.display import final_cost_payload, running_cost_payload, user_price_payload
from evbilling.ocpp.v16.decoder import (
    CallErrorFrame,
    CallFrame,
    CallResultFrame,
    ErrorCode,
    FrameDecoder,
    FrameRejected,
    call_error_json,
    validate_request,
    validate_response,
)

log = get_logger(__name__)

Payload = dict[str, Any]
Handler = Callable[["StationConnection", Payload], Awaitable[Payload]]

HANDLED_ACTIONS = frozenset(
    {
        "Authorize",
        "BootNotification",
        "DataTransfer",
        "DiagnosticsStatusNotification",
        "FirmwareStatusNotification",
        "Heartbeat",
        "MeterValues",
        "SecurityEventNotification",
        "StartTransaction",
        "StatusNotification",
        "StopTransaction",
    }
)
DECODER = FrameDecoder(handled_actions=HANDLED_ACTIONS)
# The ocpp library logs every raw frame (idTags included) at INFO; keep that to errors.
_RAW_FRAMES = logging.getLogger("evbilling.ocpp.frames")
_RAW_FRAMES.setLevel(logging.WARNING)
# Running costs go to a station's display at most this often per transaction.
COST_PUSH_EVERY_S = 60.0


class Connection(Protocol):
    async def recv(self) -> str: ...

    async def send(self, message: str) -> None: ...


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _meter_values(items: list[Payload]) -> list[MeterValueIn]:
    return [
        MeterValueIn(
            timestamp=parse_utc_timestamp(item["timestamp"]),
            sampled_values=tuple(
                SampledValueIn(
                    value=sampled["value"],
                    context=sampled.get("context"),
                    format=sampled.get("format"),
                    measurand=sampled.get("measurand"),
                    phase=sampled.get("phase"),
                    location=sampled.get("location"),
                    unit=sampled.get("unit"),
                )
                for sampled in item["sampledValue"]
            ),
        )
        for item in items
    ]


def _id_tag_info(info: charging.IdTagInfo) -> Payload:
    result: Payload = {"status": info.status.value}
    if info.expiry_date is not None:
        result["expiryDate"] = _iso(info.expiry_date)
    if info.parent_id_tag is not None:
        result["parentIdTag"] = info.parent_id_tag
    return result


class StationConnection(ChargePoint):  # type: ignore[misc]
    def __init__(
        self,
        *,
        station: StationRef,
        connection: Connection,
        writer: GroupCommit,
        heartbeat_interval_s: int,
        response_timeout_s: float,
    ) -> None:
        super().__init__(
            station.identity, connection, response_timeout=response_timeout_s, logger=_RAW_FRAMES
        )
        self.station = station
        self._writer = writer
        self._cost_shown_at: dict[int, float] = {}
        self._background: set[asyncio.Task[None]] = set()
        self._heartbeat_interval_s = heartbeat_interval_s

    # -- inbound ---------------------------------------------------------------------------

    async def route_message(self, raw_msg: str) -> None:
        try:
            frame = DECODER.decode(raw_msg)
        except FrameRejected as rejected:
            log.warning(
                "ocpp.rejected",
                station=self.id,
                code=rejected.code.value,
                # The field, not the description: it may quote the value (an idTag, say).
                field=rejected.details.get("field"),
            )
            if rejected.answer:
                await self._send(call_error_json(rejected))
            return
        if isinstance(frame, CallFrame):
            await self._answer(frame)
        elif isinstance(frame, CallResultFrame):
            self._response_queue.put_nowait(CallResult(frame.message_id, frame.payload))
        elif isinstance(frame, CallErrorFrame):
            self._response_queue.put_nowait(
                CallError(frame.message_id, frame.code, frame.description, frame.details)
            )

    async def _answer(self, frame: CallFrame) -> None:
        handler = _HANDLERS[frame.action]
        try:
            response = await handler(self, frame.payload)
        except FrameRejected as rejected:
            await self._send(self._error(frame, rejected.code, rejected.description))
            return
        except EVBillingError as exc:
            # A named failure of the use case (e.g. impossible connector id): nothing was
            # committed, and the station learns which value was wrong.
            await self._send(self._error(frame, ErrorCode.PROPERTY_CONSTRAINT_VIOLATION, str(exc)))
            return
        except Exception:
            log.exception("ocpp.internal_error", station=self.id, action=frame.action)
            await self._send(
                orjson.dumps([4, frame.message_id, "InternalError", "internal error", {}]).decode()
            )
            return
        await self._send(orjson.dumps([3, frame.message_id, response]).decode())

    @staticmethod
    def _error(frame: CallFrame, code: ErrorCode, description: str) -> str:
        return orjson.dumps([4, frame.message_id, code.value, description[:255], {}]).decode()

    # -- outbound --------------------------------------------------------------------------

    async def send_call(self, *, action: str, payload: Payload, timeout_s: float) -> Payload:
        """Send a CALL to the station and return its CALLRESULT payload (validated)."""
        validate_request(action=action, payload=payload)
        call = Call(unique_id=str(self._unique_id_generator()), action=action, payload=payload)
        async with self._call_lock:
            await self._send(orjson.dumps([2, call.unique_id, action, payload]).decode())
            try:
                response = await self._get_specific_response(call.unique_id, timeout_s)
            except TimeoutError as exc:
                raise StationTimeout(
                    f"station {self.id} did not answer {action} within {timeout_s:g} s"
                ) from exc
        if isinstance(response, CallError):
            raise CommandRejected(
                code=str(response.error_code), description=str(response.error_description)
            )
        try:
            return validate_response(action=action, payload=response.payload)
        except FrameRejected as rejected:
            raise CommandRejected(
                code=rejected.code.value, description=rejected.description
            ) from rejected

    # -- handlers: translate, call one use case in one transaction, commit, answer ----------

    async def _run(self, work: Callable[[Any, datetime], Awaitable[Any]]) -> Any:
        """Run one message's use case; it is committed before this returns."""
        return await self._writer.run(work)

    async def on_boot_notification(self, payload: Payload) -> Payload:
        info = StationInfo(
            vendor=payload["chargePointVendor"],
            model=payload["chargePointModel"],
            serial_number=payload.get("chargePointSerialNumber")
            or payload.get("chargeBoxSerialNumber"),
            firmware_version=payload.get("firmwareVersion"),
            iccid=payload.get("iccid"),
            imsi=payload.get("imsi"),
            meter_type=payload.get("meterType"),
            meter_serial_number=payload.get("meterSerialNumber"),
        )

        async def work(db: Any, now: datetime) -> datetime:
            await charging.record_boot(db=db, station=self.station, info=info, now=now)
            return now

        now = await self._run(work)
        return {
            "status": "Accepted",
            "currentTime": _iso(now),
            "interval": self._heartbeat_interval_s,
        }

    async def on_heartbeat(self, payload: Payload) -> Payload:
        async def work(db: Any, now: datetime) -> datetime:
            await charging.record_heartbeat(db=db, station=self.station, now=now)
            return now

        return {"currentTime": _iso(await self._run(work))}

    async def on_status_notification(self, payload: Payload) -> Payload:
        timestamp = payload.get("timestamp")

        async def work(db: Any, now: datetime) -> None:
            await charging.record_status(
                db=db,
                station=self.station,
                connector_id=payload["connectorId"],
                status=payload["status"],
                error_code=payload["errorCode"],
                timestamp=parse_utc_timestamp(timestamp) if timestamp else None,
                info=payload.get("info"),
                vendor_id=payload.get("vendorId"),
                vendor_error_code=payload.get("vendorErrorCode"),
                now=now,
            )

        await self._run(work)
        return {}

    async def on_authorize(self, payload: Payload) -> Payload:
        async def work(db: Any, now: datetime) -> charging.IdTagInfo:
            return await charging.authorize(
                db=db, station=self.station, id_tag=payload["idTag"], now=now
            )

        info = await self._run(work)
        if self.station.pricing_display and info.status is AuthorizationStatus.ACCEPTED:
            self._in_background(self._push_user_price(payload["idTag"]))
        return {"idTagInfo": _id_tag_info(info)}

    async def on_start_transaction(self, payload: Payload) -> Payload:
        async def work(db: Any, now: datetime) -> charging.StartResult:
            return await charging.start_transaction(
                db=db,
                station=self.station,
                connector_id=payload["connectorId"],
                id_tag=payload["idTag"],
                meter_start_wh=payload["meterStart"],
                timestamp=parse_utc_timestamp(payload["timestamp"]),
                reservation_id=payload.get("reservationId"),
                now=now,
            )

        if payload["connectorId"] == 0:
            raise FrameRejected(
                message_id="",
                code=ErrorCode.PROPERTY_CONSTRAINT_VIOLATION,
                description="connectorId 0 is the station itself; a transaction needs a connector",
                details={"field": "connectorId"},
            )
        result = await self._run(work)
        return {
            "transactionId": result.transaction_id,
            "idTagInfo": _id_tag_info(result.id_tag_info),
        }

    async def on_meter_values(self, payload: Payload) -> Payload:
        values = _meter_values(payload["meterValue"])

        async def work(db: Any, now: datetime) -> None:
            await charging.record_meter_values(
                db=db,
                station=self.station,
                connector_id=payload["connectorId"],
                transaction_id=payload.get("transactionId"),
                meter_values=values,
                now=now,
            )

        await self._run(work)
        transaction_id = payload.get("transactionId")
        if self.station.pricing_display and transaction_id is not None:
            self._show_cost(transaction_id, final=False)
        return {}

    async def on_stop_transaction(self, payload: Payload) -> Payload:
        data = _meter_values(payload.get("transactionData") or [])

        async def work(db: Any, now: datetime) -> charging.IdTagInfo | None:
            return await charging.stop_transaction(
                db=db,
                station=self.station,
                transaction_id=payload["transactionId"],
                meter_stop_wh=payload["meterStop"],
                timestamp=parse_utc_timestamp(payload["timestamp"]),
                reason=payload.get("reason"),
                id_tag=payload.get("idTag"),
                transaction_data=data,
                now=now,
            )

        info = await self._run(work)
        if self.station.pricing_display:
            self._show_cost(payload["transactionId"], final=True)
        return {"idTagInfo": _id_tag_info(info)} if info is not None else {}

    # -- costs on the station's display (after the message is answered) --------------------

    def _show_cost(self, transaction_id: int, *, final: bool) -> None:
        now = time.monotonic()
        if not final and now - self._cost_shown_at.get(transaction_id, -1e9) < COST_PUSH_EVERY_S:
            return
        self._cost_shown_at[transaction_id] = now
        if final:
            self._cost_shown_at.pop(transaction_id, None)
        self._in_background(self._push_cost(transaction_id, final=final))

    def _in_background(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _push_user_price(self, id_tag: str) -> None:
        async def work(db: Any, now: datetime) -> str | None:
            return await charging.user_price_text(
                db=db, station=self.station, id_tag=id_tag, now=now
            )

        try:
            text = await self._run(work)
            if text is not None:
                payload = user_price_payload(id_tag=id_tag, price_text=text)
                await self.send_call(action="DataTransfer", payload=payload, timeout_s=30)
        except Exception:  # a display message is a courtesy: log, never disturb charging
            log.exception("ocpp.price_display_failed", station=self.id)

    async def _push_cost(self, transaction_id: int, *, final: bool) -> None:
        async def work(db: Any, now: datetime) -> tuple[SessionCost | None, int]:
            cost = await charging.running_cost(
                db=db, operator_id=self.station.operator_id, session_id=transaction_id, now=now
            )
            return cost, await charging.meter_now(db=db, session_id=transaction_id)

        try:
            cost, meter_wh = await self._run(work)
            if cost is None:
                return
            payload = (
                final_cost_payload(cost=cost)
                if final
                else running_cost_payload(cost=cost, meter_wh=meter_wh, charging=True)
            )
            await self.send_call(action="DataTransfer", payload=payload, timeout_s=30)
        except Exception:  # a display message is a courtesy: log, never disturb charging
            log.exception(
                "ocpp.cost_display_failed", station=self.id, transaction_id=transaction_id
            )

    async def on_data_transfer(self, payload: Payload) -> Payload:
        log.info(
            "ocpp.data_transfer",
            station=self.id,
            vendor_id=payload["vendorId"],
            message_id=payload.get("messageId"),
        )
        return {"status": "UnknownVendorId"}

    async def on_acknowledged_notification(self, payload: Payload) -> Payload:
        log.info("ocpp.notification", station=self.id, payload=payload)
        return {}


_HANDLERS: dict[str, Handler] = {
    "Authorize": StationConnection.on_authorize,
    "BootNotification": StationConnection.on_boot_notification,
    "DataTransfer": StationConnection.on_data_transfer,
    "DiagnosticsStatusNotification": StationConnection.on_acknowledged_notification,
    "FirmwareStatusNotification": StationConnection.on_acknowledged_notification,
    "Heartbeat": StationConnection.on_heartbeat,
    "MeterValues": StationConnection.on_meter_values,
    "SecurityEventNotification": StationConnection.on_acknowledged_notification,
    "StartTransaction": StationConnection.on_start_transaction,
    "StatusNotification": StationConnection.on_status_notification,
    "StopTransaction": StationConnection.on_stop_transaction,
}
assert set(_HANDLERS) == HANDLED_ACTIONS


async def serve_station(station: StationConnection) -> None:
    """Read frames until the socket closes; one message at a time, as OCPP-J requires."""
    await station.start()


__all__ = ["Connection", "StationConnection", "serve_station"]
