"""API keys over the API: stored as HMAC-SHA256 digests, checked with no thread and no
database connection held, listed without secrets, revoked at once on every server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from evbilling.access import caller
from evbilling.access.service import create_api_key
from evbilling.infra.context import ServiceContext
from evbilling.infra.db.engine import create_engine, create_session_factory
from evbilling.infra.secrets import ApiKeyHasher, hash_secret
from evbilling.kit import FixedClock
from evbilling.main import create_api
from evbilling.models import ApiKey
from tests.functional.api_calls import assert_problem


@asynccontextmanager
async def api(context: ServiceContext, key: str | None) -> AsyncIterator[httpx.AsyncClient]:
    root = FastAPI()
    root.mount("/api/v1", create_api(context=context))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=root),
        base_url="http://testserver/api/v1",
        headers={"Authorization": f"Bearer {key}"} if key is not None else None,
    ) as client:
        yield client


@asynccontextmanager
async def second_server(
    database_url: str, context: ServiceContext
) -> AsyncIterator[ServiceContext]:
    """Another server on the same database: its own engine and process state, the same
    secret (as every server of one installation has)."""
    engine = create_engine(url=database_url)
    try:
        yield ServiceContext(
            session_factory=create_session_factory(engine),
            clock=context.clock,
            api_keys=context.api_keys,
        )
    finally:
        await engine.dispose()


async def issue(context: ServiceContext, operator_id: int, name: str = "back office") -> str:
    async with context.unit_of_work() as db:
        issued = await create_api_key(
            db=db,
            operator_id=operator_id,
            name=name,
            now=context.clock.now(),
            hasher=context.api_keys,
        )
        await db.commit()
    return issued.key


async def stored_keys(context: ServiceContext) -> list[ApiKey]:
    async with context.unit_of_work() as db:
        return list((await db.execute(select(ApiKey).order_by(ApiKey.id))).scalars())


class RecordingHasher(ApiKeyHasher):
    """The context's hasher, noting how many database connections were checked out each
    time a digest was compared."""

    __slots__ = ("_engine", "connections_in_use")

    def __init__(self, engine: AsyncEngine) -> None:
        super().__init__(lambda: b"x" * 40)
        self._engine = engine
        self.connections_in_use: list[int] = []

    def matches(self, *, api_key_digest: str, stored: str) -> bool:
        self.connections_in_use.append(self._engine.sync_engine.pool.checkedout())  # type: ignore[attr-defined]
        return super().matches(api_key_digest=api_key_digest, stored=stored)


class TestVerification:
    async def test_stores_the_hmac_digest_and_never_the_key(
        self, context: ServiceContext, operator_id: int, api_key: str
    ) -> None:
        [row] = await stored_keys(context)

        assert row.secret_hash == context.api_keys.digest(api_key)
        assert api_key.split("_", 2)[2] not in row.secret_hash

    async def test_checks_the_digest_with_no_connection_held_and_no_argon2(
        self,
        context: ServiceContext,
        engine: AsyncEngine,
        operator_id: int,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        # Arrange
        recording = RecordingHasher(engine)
        context.api_keys = recording
        key = await issue(context, operator_id)

        async def no_argon2(**_: object) -> bool:
            raise AssertionError("an HMAC key is never checked with argon2")

        monkeypatch.setattr(caller, "verify_secret_async", no_argon2)

        # Act
        async with api(context, key) as client:
            responses = [await client.get("/locations") for _ in range(3)]

        # Assert
        assert [r.status_code for r in responses] == [200, 200, 200]
        assert recording.connections_in_use == [0, 0, 0]

    async def test_accepts_the_key_as_x_api_key(
        self, context: ServiceContext, api_key: str
    ) -> None:
        async with api(context, None) as client:
            response = await client.get("/api-keys", headers={"X-API-Key": api_key})

        assert response.status_code == 200
        assert response.json()["total"] == 1

    async def test_refuses_a_wrong_secret_behind_a_real_prefix(
        self, api_client: httpx.AsyncClient, api_key: str
    ) -> None:
        scheme, prefix, secret = api_key.split("_", 2)
        wrong = f"{scheme}_{prefix}_{'A' if secret[0] != 'A' else 'B'}{secret[1:]}"

        response = await api_client.get("/locations", headers={"Authorization": f"Bearer {wrong}"})

        assert_problem(response, status=401)
        assert response.json()["detail"] == "unknown or revoked API key"

    @pytest.mark.parametrize(
        "header",
        [
            {"Authorization": "Bearer evb_000000000000_doesnotexist"},
            {"Authorization": "Bearer not-a-key"},
            {"Authorization": "Basic dXNlcjpwYXNz"},
            {"X-API-Key": "evb_000000000000_doesnotexist"},
            {},
        ],
    )
    async def test_refuses_unknown_and_malformed_keys(
        self, context: ServiceContext, api_key: str, header: dict[str, str]
    ) -> None:
        async with api(context, None) as client:
            response = await client.get("/locations", headers=header)

        assert_problem(response, status=401)
        assert response.headers["www-authenticate"] == "Bearer"

    async def test_a_key_checked_under_another_secret_is_refused(
        self, context: ServiceContext, operator_id: int, api_key: str
    ) -> None:
        context.api_keys = ApiKeyHasher.from_secret("another-secret-of-at-least-32-chars")

        async with api(context, api_key) as client:
            response = await client.get("/locations")

        assert_problem(response, status=401)

    async def test_notes_the_last_use_at_most_every_few_minutes(
        self, context: ServiceContext, clock: FixedClock, operator_id: int, api_key: str
    ) -> None:
        # Arrange
        first_use = clock.now()

        # Act
        async with api(context, api_key) as client:
            await client.get("/locations")
            clock.advance(seconds=60)
            await client.get("/locations")
            after_a_minute = (await stored_keys(context))[0].last_used_at
            clock.advance(seconds=300)
            await client.get("/locations")

        # Assert
        assert after_a_minute == first_use
        assert (await stored_keys(context))[0].last_used_at == clock.now()


class TestKeysIssuedBeforeHmac:
    async def _legacy_key(self, context: ServiceContext, operator_id: int) -> str:
        """A key as earlier versions stored it: the argon2 hash of the whole key."""
        key = "evb_a1b2c3d4e5f6_theoldsecretofalegacykey0123456"
        async with context.unit_of_work() as db:
            db.add(
                ApiKey(
                    operator_id=operator_id,
                    name="legacy",
                    prefix="a1b2c3d4e5f6",
                    secret_hash=hash_secret(key),
                    created_at=context.clock.now(),
                )
            )
            await db.commit()
        return key

    async def test_still_works_and_its_hash_is_replaced_by_the_hmac_digest(
        self, context: ServiceContext, operator_id: int
    ) -> None:
        # Arrange
        key = await self._legacy_key(context, operator_id)

        # Act
        async with api(context, key) as client:
            first = await client.get("/locations")
            upgraded = (await stored_keys(context))[0].secret_hash
            again = await client.get("/locations")

        # Assert
        assert first.status_code == 200, first.text
        assert again.status_code == 200
        assert upgraded == context.api_keys.digest(key)

    async def test_a_wrong_secret_is_refused_and_the_hash_kept(
        self, context: ServiceContext, operator_id: int
    ) -> None:
        # Arrange
        key = await self._legacy_key(context, operator_id)
        before = (await stored_keys(context))[0].secret_hash

        # Act
        async with api(context, key[:-1] + "X") as client:
            response = await client.get("/locations")

        # Assert
        assert_problem(response, status=401)
        assert (await stored_keys(context))[0].secret_hash == before

    async def test_a_revoked_one_is_refused_without_a_check(
        self, context: ServiceContext, operator_id: int, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # Arrange
        key = await self._legacy_key(context, operator_id)
        async with context.unit_of_work() as db:
            row = (await db.execute(select(ApiKey))).scalar_one()
            row.revoked_at = context.clock.now()
            await db.commit()

        async def no_argon2(**_: object) -> bool:
            raise AssertionError("a revoked key is refused before any check")

        monkeypatch.setattr(caller, "verify_secret_async", no_argon2)

        # Act
        async with api(context, key) as client:
            response = await client.get("/locations")

        # Assert
        assert_problem(response, status=401)
        assert is_argon2((await stored_keys(context))[0].secret_hash)


def is_argon2(stored: str) -> bool:
    return stored.startswith("$argon2id$")


class TestListAndRevoke:
    async def test_lists_keys_without_secrets_or_digests(
        self, context: ServiceContext, operator_id: int, api_client: httpx.AsyncClient
    ) -> None:
        # Arrange
        other = await issue(context, operator_id, name="billing export")

        # Act
        response = await api_client.get("/api-keys")

        # Assert
        assert response.status_code == 200
        page = response.json()
        assert page["total"] == 2
        assert [(k["id"], k["name"]) for k in page["items"]] == [
            (1, "tests"),
            (2, "billing export"),
        ]
        assert set(page["items"][1]) == {
            "id",
            "name",
            "prefix",
            "created_at",
            "last_used_at",
            "revoked_at",
            "scopes",
        }
        assert page["items"][1]["prefix"] == other.split("_", 2)[1]
        assert other.split("_", 2)[2] not in response.text
        assert "hmac-sha256" not in response.text

    async def test_issues_a_key_shown_once_that_works(self, api_client: httpx.AsyncClient) -> None:
        # Act
        response = await api_client.post("/api-keys", json={"name": "integration"})
        issued = response.json()
        listed = (await api_client.get("/api-keys")).json()
        with_it = await api_client.get(
            "/locations", headers={"Authorization": f"Bearer {issued['key']}"}
        )

        # Assert
        assert response.status_code == 201
        assert response.headers["cache-control"] == "no-store"
        assert issued["key"].startswith(f"evb_{issued['prefix']}_")
        assert issued["key"] not in str(listed)
        assert with_it.status_code == 200

    async def test_refuses_a_blank_name_and_issues_nothing(
        self, api_client: httpx.AsyncClient
    ) -> None:
        response = await api_client.post("/api-keys", json={"name": "   "})

        assert_problem(response, status=422, field="name")
        assert (await api_client.get("/api-keys")).json()["total"] == 1

    async def test_revoking_the_current_key_refuses_the_next_request(
        self, api_client: httpx.AsyncClient, context: ServiceContext
    ) -> None:
        # Arrange
        [mine] = (await api_client.get("/api-keys")).json()["items"]

        # Act
        revoked = await api_client.delete(f"/api-keys/{mine['id']}")
        after = await api_client.get("/api-keys")

        # Assert
        assert revoked.status_code == 204
        assert revoked.content == b""
        assert_problem(after, status=401)
        assert (await stored_keys(context))[0].revoked_at == context.clock.now()

    async def test_revoking_twice_keeps_the_first_time(
        self,
        api_client: httpx.AsyncClient,
        context: ServiceContext,
        clock: FixedClock,
        operator_id: int,
    ) -> None:
        # Arrange
        spare = await issue(context, operator_id, name="spare")
        first_time = clock.now()
        await api_client.delete("/api-keys/2")
        clock.advance(seconds=60)

        # Act
        again = await api_client.delete("/api-keys/2")

        # Assert
        assert again.status_code == 204
        assert (await stored_keys(context))[1].revoked_at == first_time
        async with api(context, spare) as client:
            assert_problem(await client.get("/locations"), status=401)

    async def test_another_operators_key_is_not_found_and_stays_valid(
        self, api_client: httpx.AsyncClient, other_client: httpx.AsyncClient
    ) -> None:
        # Arrange
        theirs = (await other_client.get("/api-keys")).json()["items"][0]

        # Act
        revoked = await api_client.delete(f"/api-keys/{theirs['id']}")
        missing = await api_client.delete("/api-keys/999")

        # Assert
        assert_problem(revoked, status=404)
        assert_problem(missing, status=404)
        assert (await other_client.get("/api-keys")).status_code == 200
        assert [k["name"] for k in (await api_client.get("/api-keys")).json()["items"]] == ["tests"]


class TestRevocationOnEveryServer:
    async def test_a_key_revoked_through_one_server_is_refused_by_another_at_once(
        self, context: ServiceContext, operator_id: int, database_url: str
    ) -> None:
        # Arrange
        admin = await issue(context, operator_id, name="admin")
        doomed = await issue(context, operator_id, name="doomed")
        async with (
            second_server(database_url, context) as other_context,
            api(context, admin) as first,
            api(other_context, doomed) as second,
        ):
            before = await second.get("/locations")  # the second server has accepted it

            # Act
            [doomed_row] = [
                k for k in (await first.get("/api-keys")).json()["items"] if k["name"] == "doomed"
            ]
            revoked = await first.delete(f"/api-keys/{doomed_row['id']}")
            after = await second.get("/locations")

        # Assert
        assert before.status_code == 200
        assert revoked.status_code == 204
        assert_problem(after, status=401)
