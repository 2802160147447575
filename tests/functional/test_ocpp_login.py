"""Station log-in over real sockets from distinct loopback addresses: nobody's failures refuse
another's right password, a failing pair backs off, and refusals reveal no identities."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from websockets.exceptions import InvalidStatus

from evbilling.infra.context import ServiceContext
from evbilling.infra.secrets import verify_secret_async
from evbilling.kit import FixedClock
from evbilling.main import create_app
from tests.factories import create_station
from tests.functional.charger import raw_call
from tests.functional.conftest import LiveServer, connect, loopback_config, running

ATTACKER = "127.0.0.66"
STATION = "127.0.0.7"
NAT = "127.0.0.9"
WRONG = "guess-guess-guess-1"


async def refusal(server: LiveServer, identity: str, **kwargs: object) -> tuple[int, bytes, str]:
    """Status, body and WWW-Authenticate header of a refused upgrade."""
    with pytest.raises(InvalidStatus) as refused:
        await connect(server, identity, **kwargs)  # type: ignore[arg-type]
    response = refused.value.response
    body = bytes(response.body or b"")
    return response.status_code, body, response.headers.get("WWW-Authenticate", "")


async def status(server: LiveServer, identity: str, **kwargs: object) -> int:
    return (await refusal(server, identity, **kwargs))[0]


async def logs_in(server: LiveServer, identity: str, *, source: str) -> bool:
    """The right password from `source`: connected and answered, then closed."""
    connection = await connect(server, identity, source=source)
    answer = await raw_call(connection, '[2,"hb","Heartbeat",{}]')
    await connection.close()
    return answer[:2] == [3, "hb"]


@pytest.fixture
async def small_address_allowance(
    context: ServiceContext, clock: FixedClock
) -> AsyncIterator[LiveServer]:
    """A server whose addresses may fail 5 times a minute (pairs: 3)."""
    app, gateway = create_app(
        context=context, auth_failures_allowed=3, auth_address_failures_allowed=5
    )
    async with running(loopback_config(app), gateway, clock) as server:
        yield server


class TestNobodyElsesFailuresRefuseTheRightPassword:
    async def test_an_attackers_wrong_passwords_never_keep_the_station_out(
        self, context: ServiceContext, operator_id: int, live_server: LiveServer
    ) -> None:
        await create_station(context, operator_id=operator_id, identity="CP-1")

        attacker = [await status(live_server, "CP-1", password=WRONG, source=ATTACKER)
                    for _ in range(5)]  # fmt: skip

        assert attacker == [401, 401, 401, 429, 429]  # the live server allows 3 per pair
        assert await logs_in(live_server, "CP-1", source=STATION)

    async def test_a_misconfigured_charger_behind_a_nat_does_not_lock_out_its_neighbours(
        self, context: ServiceContext, operator_id: int, live_server: LiveServer
    ) -> None:
        await create_station(context, operator_id=operator_id, identity="CP-STALE")
        await create_station(context, operator_id=operator_id, identity="CP-1")

        stale = [await status(live_server, "CP-STALE", password=WRONG, source=NAT)
                 for _ in range(20)]  # fmt: skip

        assert stale[:3] == [401, 401, 401]
        assert set(stale[3:]) == {429}  # refused unverified: they count for nothing
        assert live_server.gateway.throttle.sizes()["pairs"] == 1
        assert await logs_in(live_server, "CP-1", source=NAT)

    async def test_the_failing_pair_backs_off_even_with_the_right_password(
        self, context: ServiceContext, operator_id: int, live_server: LiveServer
    ) -> None:
        await create_station(context, operator_id=operator_id, identity="CP-1")
        for _ in range(3):
            assert await status(live_server, "CP-1", password=WRONG, source=ATTACKER) == 401

        assert await status(live_server, "CP-1", source=ATTACKER) == 429
        assert live_server.gateway.throttle.locked_for(identity="CP-1", address=ATTACKER) > 0
        assert await logs_in(live_server, "CP-1", source=STATION)

    async def test_an_address_failing_in_many_names_is_refused_except_for_stations_known_there(
        self, context: ServiceContext, operator_id: int, small_address_allowance: LiveServer
    ) -> None:
        server = small_address_allowance
        await create_station(context, operator_id=operator_id, identity="CP-KNOWN")
        await create_station(context, operator_id=operator_id, identity="CP-NEW")
        assert await logs_in(server, "CP-KNOWN", source=NAT)

        sprayed = [await status(server, f"GUESS-{index}", source=NAT) for index in range(6)]

        assert sprayed == [401] * 5 + [429]
        assert await status(server, "CP-NEW", source=NAT) == 429
        assert await logs_in(server, "CP-KNOWN", source=NAT)
        assert await logs_in(server, "CP-NEW", source=STATION)


class TestRefusalsRevealNoIdentities:
    async def test_unknown_station_station_without_password_and_wrong_password_look_alike(
        self,
        context: ServiceContext,
        operator_id: int,
        live_server: LiveServer,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        await create_station(context, operator_id=operator_id, identity="CP-1")
        await create_station(context, operator_id=operator_id, identity="CP-NOPW", password=None)
        verifications: list[str] = []

        async def counting(*, secret: str, secret_hash: str) -> bool:
            verifications.append(secret_hash)
            return await verify_secret_async(secret=secret, secret_hash=secret_hash)

        # Counts the verifications; each still runs.
        monkeypatch.setattr("evbilling.ocpp.gateway.verify_secret_async", counting)

        wrong = await refusal(live_server, "CP-1", password=WRONG, source=ATTACKER)
        unknown = await refusal(live_server, "CP-UNKNOWN", source=ATTACKER)
        without = await refusal(live_server, "CP-NOPW", source=ATTACKER)

        assert wrong == unknown == without
        assert wrong[0] == 401
        assert wrong[2] == 'Basic realm="ocpp"'
        # Each cost one argon2 verification; the two without a hash used the same dummy.
        assert len(verifications) == 3
        assert verifications[1] == verifications[2] != verifications[0]
        assert all(hash_.startswith("$argon2id$") for hash_ in verifications)
