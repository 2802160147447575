"""The OCPP-J endpoint `/ocpp/{station_id}`: authenticates stations at the WebSocket upgrade
and keeps the registry of live connections that operator commands travel through.

Second-connection policy: a station can only have one live connection. A new connection for
a station that is already connected must first pass the same authentication; only then does
it replace the old one, which is closed with code 1000 ("superseded"). Chargers reconnect
after network trouble while the server may still hold a half-open socket, so the newest
authenticated connection wins; an unauthenticated socket is refused before it can touch the
live one.

Log-in refusals reveal nothing: an unknown identity, one without a password and a wrong
password all cost one argon2 verification and get the same 401 with the same body. Failed
log-ins are throttled per (identity, address) and per address, never per identity alone
(`LoginThrottle`), so nobody can keep a station out by failing in its name.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from starlette.responses import Response
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState
from structlog.stdlib import BoundLogger

from evbilling.charging.station_events import StationRef, promote_pending_password, station_login
from evbilling.infra.context import ServiceContext
from evbilling.infra.db.group_commit import GroupCommit
from evbilling.infra.http import client_address
from evbilling.infra.logging import get_logger
from evbilling.infra.login_throttle import LoginThrottle
from evbilling.infra.secrets import hash_secret, verify_secret_async
from evbilling.infra.station_link import StationNotConnected
from evbilling.kit import new_secret
from evbilling.kit.values import InvalidValue
from evbilling.ocpp.connection import ConnectionLost, StationConnection
from evbilling.payments.domain import HoldPolicy
from evbilling.payments.psp import PaymentProvider
from evbilling.stations.domain import StationIdentity

log = get_logger(__name__)

SUBPROTOCOL = "ocpp1.6"


class _WebSocketConnection:
    """Adapts a Starlette WebSocket to the recv/send pair the ocpp ChargePoint expects."""

    __slots__ = ("_websocket",)

    def __init__(self, websocket: WebSocket) -> None:
        self._websocket = websocket

    async def recv(self) -> str | bytes:
        message = await self._websocket.receive()
        if message["type"] == "websocket.disconnect":
            raise WebSocketDisconnect(message.get("code", 1000))
        text = message.get("text")
        if text is None:
            # A binary frame goes to the decoder as sent: invalid UTF-8 is a FormationViolation.
            data: bytes = message.get("bytes") or b""
            return data
        return str(text)

    async def send(self, message: str) -> None:
        try:
            await self._websocket.send_text(message)
        except (WebSocketDisconnect, RuntimeError) as exc:  # closed, or closing
            raise ConnectionLost(str(exc)) from exc


@cache
def _dummy_hash() -> str:
    """The hash of a secret nobody knows, verified when there is no real hash to check."""
    return hash_secret(new_secret(nbytes=18))


@dataclass(slots=True)
class OcppGateway:
    """Live station connections; implements the services' StationCommandPort."""

    context: ServiceContext
    heartbeat_interval_s: int = 300
    command_timeout_s: float = 30.0
    throttle: LoginThrottle = field(default_factory=LoginThrottle)
    # Card holds at Authorize / StartTransaction (ocpp/v16/card_holds.py); None: none.
    payment_provider: PaymentProvider | None = None
    hold_policy: HoldPolicy = field(default_factory=HoldPolicy)
    _live: dict[str, tuple[StationConnection, WebSocket]] = field(default_factory=dict)
    writer: GroupCommit = field(init=False)

    def __post_init__(self) -> None:
        self.writer = GroupCommit(context=self.context)
        _dummy_hash()  # computed once, at start-up, not during someone's log-in

    def live_connection(self, station_identity: str) -> StationConnection | None:
        live = self._live.get(station_identity)
        return live[0] if live is not None else None

    # -- StationCommandPort --------------------------------------------------------------

    def is_connected(self, station_identity: str) -> bool:
        return station_identity in self._live

    def connected_count(self) -> int:
        return len(self._live)

    async def send(
        self, *, station_identity: str, action: str, payload: dict[str, Any], timeout_s: float
    ) -> dict[str, Any]:
        live = self._live.get(station_identity)
        if live is None:
            raise StationNotConnected(f"station {station_identity} is not connected")
        return await live[0].send_call(action=action, payload=payload, timeout_s=timeout_s)

    # -- the endpoint ----------------------------------------------------------------------

    async def endpoint(self, websocket: WebSocket) -> None:
        address = client_address(websocket.scope)
        try:
            # The same rule that registered the station: no other name can ever log in.
            identity = str(StationIdentity.parse(websocket.path_params["station_id"]))
        except InvalidValue:
            await _refuse(
                websocket, 400, "not a station identity", logger=log.bind(address=address)
            )
            return
        # Every line about this attempt and, once accepted, its connection names both.
        attempt = log.bind(station=identity, address=address)
        requested = [
            p.strip()
            for p in websocket.headers.get("sec-websocket-protocol", "").split(",")
            if p.strip()
        ]
        if SUBPROTOCOL not in requested:
            await _refuse(websocket, 400, "subprotocol ocpp1.6 required", logger=attempt)
            return
        if not self.throttle.admit(identity=identity, address=address):
            await _refuse(websocket, 429, "too many failed logins", logger=attempt)
            return
        station = await self._authenticate(websocket, identity=identity)
        if station is None:
            self.throttle.failed(identity=identity, address=address)
            await _refuse(websocket, 401, "unknown station or wrong credentials", logger=attempt)
            return
        self.throttle.succeeded(identity=identity, address=address)
        await websocket.accept(subprotocol=SUBPROTOCOL)
        connection = StationConnection(
            station=station,
            address=address,
            connection=_WebSocketConnection(websocket),
            writer=self.writer,
            heartbeat_interval_s=self.heartbeat_interval_s,
            response_timeout_s=self.command_timeout_s,
            payment_provider=self.payment_provider,
            hold_policy=self.hold_policy,
        )
        previous = self._live.get(identity)
        self._live[identity] = (connection, websocket)
        if previous is not None:
            previous[0].log.info("station.superseded")
            await _close_quietly(
                previous[1], reason="superseded by a new connection", logger=previous[0].log
            )
        connection.log.info("station.connected")
        try:
            await connection.start()
        except (WebSocketDisconnect, ConnectionLost):
            pass
        finally:
            if self._live.get(identity, (None,))[0] is connection:
                del self._live[identity]
            connection.log.info("station.disconnected")

    async def _authenticate(self, websocket: WebSocket, *, identity: str) -> StationRef | None:
        credentials = _basic_credentials(websocket.headers.get("authorization"))
        if credentials is None:
            return None
        username, password = credentials
        if username != identity:  # OCPP security profile 1: the username is the identity
            return None
        # Leave the transaction before the (slow, threaded) argon2 check: SQLite has one
        # connection and every station shares it.
        async with self.context.unit_of_work() as db:
            login = await station_login(db=db, identity=identity)
        if login is None:  # unknown, or no password: the same check, the same refusal
            await verify_secret_async(secret=password, secret_hash=_dummy_hash())
            return None
        if await verify_secret_async(secret=password, secret_hash=login.password_hash):
            return login.station
        # After a rotation the station accepted, its new password works too; the first login
        # with it makes it the only one.
        pending = login.pending_password_hash
        if pending is None or not await verify_secret_async(secret=password, secret_hash=pending):
            return None
        station = login.station
        promoted = await self.writer.run(
            lambda db, now: promote_pending_password(
                db=db, station=station, pending_hash=pending, now=now
            )
        )
        return station if promoted else None

    async def close_all(self) -> None:
        for connection, websocket in list(self._live.values()):
            await _close_quietly(websocket, reason="server shutting down", logger=connection.log)


async def _refuse(websocket: WebSocket, status: int, reason: str, *, logger: BoundLogger) -> None:
    logger.warning("station.refused", status=status, reason=reason)
    headers = {"WWW-Authenticate": 'Basic realm="ocpp"'} if status == 401 else None
    await websocket.send_denial_response(
        Response(content=reason, status_code=status, headers=headers)
    )


async def _close_quietly(websocket: WebSocket, *, reason: str, logger: BoundLogger) -> None:
    if websocket.application_state == WebSocketState.CONNECTED:
        try:
            await asyncio.wait_for(websocket.close(code=1000, reason=reason), timeout=5)
        except Exception:  # the peer may already be gone
            logger.debug("station.close_failed", reason=reason)


def _basic_credentials(header: str | None) -> tuple[str, str] | None:
    if not header:
        return None
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    username, separator, password = decoded.partition(":")
    if not separator:
        return None
    return username, password
