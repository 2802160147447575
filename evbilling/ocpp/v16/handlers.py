"""The OCPP 1.6 calls a station makes, each turned into one charging use case.

A handler takes the decoded payload (camelCase, already validated), runs its use case through
the station's link (committed before the answer goes out) and returns the response payload.
Failures are the connection's to answer: a `FrameRejected` raised here becomes a CALLERROR
with its code, a named `EVBillingError` of a use case a PropertyConstraintViolation.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Final

from sqlalchemy.ext.asyncio import AsyncSession

from evbilling.charging import completion, meter_service, station_events
from evbilling.charging import service as charging
from evbilling.charging.domain import AuthorizationStatus
from evbilling.charging.meter_service import MeterValueIn, SampledValueIn
from evbilling.charging.station_events import StationInfo
from evbilling.kit import parse_utc_timestamp
from evbilling.ocpp.v16.card_linking import offer_link_code
from evbilling.ocpp.v16.display import CostDisplay
from evbilling.ocpp.v16.frames import ErrorCode, FrameRejected
from evbilling.ocpp.v16.link import Payload, StationLink
from evbilling.ocpp.v16.payment_steps import PaymentSteps
from evbilling.payments.domain import HoldPolicy
from evbilling.payments.psp import PaymentProvider

__all__ = ["HANDLED_ACTIONS", "StationHandlers"]


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


class StationHandlers:
    """The 1.6 handlers of one connected station (and its cost display)."""

    __slots__ = ("_display", "_heartbeat_interval_s", "_link", "_payments")

    def __init__(
        self,
        *,
        link: StationLink,
        heartbeat_interval_s: int,
        payment_provider: PaymentProvider | None = None,
        hold_policy: HoldPolicy | None = None,
    ) -> None:
        self._link = link
        self._heartbeat_interval_s = heartbeat_interval_s
        self._display = CostDisplay(link=link)
        # The payment route at Authorize / StartTransaction (card holds need a provider).
        self._payments = PaymentSteps(link=link, provider=payment_provider, policy=hold_policy)

    async def handle(self, *, action: str, payload: Payload) -> Payload:
        """Answer one CALL of an action in HANDLED_ACTIONS."""
        return await _HANDLERS[action](self, payload)

    async def boot_notification(self, payload: Payload) -> Payload:
        station = self._link.station
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

        async def work(db: AsyncSession, now: datetime) -> datetime:
            await station_events.record_boot(db=db, station=station, info=info, now=now)
            return now

        now = await self._link.run(work)
        return {
            "status": "Accepted",
            "currentTime": _iso(now),
            "interval": self._heartbeat_interval_s,
        }

    async def heartbeat(self, payload: Payload) -> Payload:
        station = self._link.station

        async def work(db: AsyncSession, now: datetime) -> datetime:
            await station_events.record_heartbeat(db=db, station=station, now=now)
            return now

        return {"currentTime": _iso(await self._link.run(work))}

    async def status_notification(self, payload: Payload) -> Payload:
        station = self._link.station
        timestamp = payload.get("timestamp")

        async def work(db: AsyncSession, now: datetime) -> None:
            await completion.status_notification(
                db=db,
                station=station,
                connector_id=payload["connectorId"],
                status=payload["status"],
                error_code=payload["errorCode"],
                timestamp=parse_utc_timestamp(timestamp) if timestamp else None,
                info=payload.get("info"),
                vendor_id=payload.get("vendorId"),
                vendor_error_code=payload.get("vendorErrorCode"),
                now=now,
            )

        await self._link.run(work)
        return {}

    async def authorize(self, payload: Payload) -> Payload:
        # The token, then its payment route secured (committed before a provider is asked).
        info = await self._payments.authorize(id_tag=payload["idTag"])
        if self._display.enabled and info.status is AuthorizationStatus.ACCEPTED:
            self._display.show_user_price(id_tag=payload["idTag"])
        offer_link_code(self._link, id_tag=payload["idTag"], info=info)
        return {"idTagInfo": _id_tag_info(info)}

    async def start_transaction(self, payload: Payload) -> Payload:
        station = self._link.station
        timestamp = parse_utc_timestamp(payload["timestamp"])
        refused = False

        async def work(db: AsyncSession, now: datetime) -> charging.StartResult:
            result = await charging.start_transaction(
                db=db,
                station=station,
                connector_id=payload["connectorId"],
                id_tag=payload["idTag"],
                meter_start_wh=payload["meterStart"],
                timestamp=timestamp,
                reservation_id=payload.get("reservationId"),
                now=now,
                payment_refused=refused,
            )
            await self._payments.attach(db=db, id_tag=payload["idTag"], result=result, now=now)
            return result

        if payload["connectorId"] == 0:
            raise FrameRejected(
                message_id="",
                code=ErrorCode.PROPERTY_CONSTRAINT_VIOLATION,
                description="connectorId 0 is the station itself; a transaction needs a connector",
                details={"field": "connectorId"},
            )
        refused = await self._payments.refused_before_start(
            connector_id=payload["connectorId"],
            id_tag=payload["idTag"],
            meter_start_wh=payload["meterStart"],
            timestamp=timestamp,
        )
        result = await self._link.run(work)
        return {
            "transactionId": result.transaction_id,
            "idTagInfo": _id_tag_info(result.id_tag_info),
        }

    async def meter_values(self, payload: Payload) -> Payload:
        station = self._link.station
        values = _meter_values(payload["meterValue"])

        async def work(db: AsyncSession, now: datetime) -> None:
            await meter_service.record_meter_values(
                db=db,
                station=station,
                connector_id=payload["connectorId"],
                transaction_id=payload.get("transactionId"),
                meter_values=values,
                now=now,
            )

        await self._link.run(work)
        transaction_id = payload.get("transactionId")
        if self._display.enabled and transaction_id is not None:
            self._display.show_cost(transaction_id=transaction_id, final=False)
        return {}

    async def stop_transaction(self, payload: Payload) -> Payload:
        station = self._link.station
        data = _meter_values(payload.get("transactionData") or [])

        async def work(db: AsyncSession, now: datetime) -> charging.IdTagInfo | None:
            return await charging.stop_transaction(
                db=db,
                station=station,
                transaction_id=payload["transactionId"],
                meter_stop_wh=payload["meterStop"],
                timestamp=parse_utc_timestamp(payload["timestamp"]),
                reason=payload.get("reason"),
                id_tag=payload.get("idTag"),
                transaction_data=data,
                now=now,
            )

        info = await self._link.run(work)
        if self._display.enabled:
            self._display.show_cost(transaction_id=payload["transactionId"], final=True)
        return {"idTagInfo": _id_tag_info(info)} if info is not None else {}

    async def data_transfer(self, payload: Payload) -> Payload:
        self._link.log.info(
            "ocpp.data_transfer", vendor_id=payload["vendorId"], message_id=payload.get("messageId")
        )
        return {"status": "UnknownVendorId"}

    # Notifications that change nothing here: logged by their named fields, acknowledged.

    async def diagnostics_status_notification(self, payload: Payload) -> Payload:
        return self._acknowledge("DiagnosticsStatusNotification", status=payload.get("status"))

    async def firmware_status_notification(self, payload: Payload) -> Payload:
        return self._acknowledge("FirmwareStatusNotification", status=payload.get("status"))

    async def security_event_notification(self, payload: Payload) -> Payload:
        return self._acknowledge(
            "SecurityEventNotification",
            event_type=payload.get("type"),
            timestamp=payload.get("timestamp"),
        )

    def _acknowledge(self, action: str, **fields: object) -> Payload:
        self._link.log.info("ocpp.notification", action=action, **fields)
        return {}


Handler = Callable[[StationHandlers, Payload], Awaitable[Payload]]

_HANDLERS: Final[Mapping[str, Handler]] = {
    "Authorize": StationHandlers.authorize,
    "BootNotification": StationHandlers.boot_notification,
    "DataTransfer": StationHandlers.data_transfer,
    "DiagnosticsStatusNotification": StationHandlers.diagnostics_status_notification,
    "FirmwareStatusNotification": StationHandlers.firmware_status_notification,
    "Heartbeat": StationHandlers.heartbeat,
    "MeterValues": StationHandlers.meter_values,
    "SecurityEventNotification": StationHandlers.security_event_notification,
    "StartTransaction": StationHandlers.start_transaction,
    "StatusNotification": StationHandlers.status_notification,
    "StopTransaction": StationHandlers.stop_transaction,
}
# The actions the decoder accepts; any other CALL is answered NotImplemented / NotSupported.
HANDLED_ACTIONS: Final[frozenset[str]] = frozenset(_HANDLERS)
