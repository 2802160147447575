"""`evbilling operator ...` and `evbilling apikey ...` against a database file: operators with
their first key, keys listed without secrets, revoked keys refused by the server at once, and
the secret a SQLite installation keeps beside its database shared by the CLI and the server."""

from __future__ import annotations

import asyncio
import json
import stat
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
from fastapi import FastAPI
from sqlalchemy import select
from typer.testing import CliRunner

from evbilling.cli import app as cli_app
from evbilling.infra.context import ServiceContext
from evbilling.infra.db.engine import create_engine, create_session_factory
from evbilling.infra.secrets import SECRET_FILE_NAME, ApiKeyHasher, api_key_hasher_for
from evbilling.kit import SystemClock
from evbilling.main import create_api
from evbilling.models import ApiKey
from tests.functional.cli_calls import invoke, invoke_json


@asynccontextmanager
async def server_api(database: Path, key: str) -> AsyncIterator[httpx.AsyncClient]:
    """The API as `evbilling serve` builds it for this database file: the secret is the one
    the CLI found beside it."""
    url = f"sqlite+aiosqlite:///{database}"
    engine = create_engine(url=url)
    context = ServiceContext(
        session_factory=create_session_factory(engine),
        clock=SystemClock(),
        api_keys=api_key_hasher_for(configured=None, database_url=url),
    )
    root = FastAPI()
    root.mount("/api/v1", create_api(context=context))
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=root),
            base_url="http://testserver/api/v1",
            headers={"Authorization": f"Bearer {key}"},
        ) as client:
            yield client
    finally:
        await engine.dispose()


def stored_digests(database: Path) -> list[str]:
    async def read() -> list[str]:
        engine = create_engine(url=f"sqlite+aiosqlite:///{database}")
        async with engine.connect() as connection:
            rows = (await connection.execute(select(ApiKey.secret_hash))).scalars().all()
        await engine.dispose()
        return list(rows)

    return asyncio.run(read())


class TestOperatorCommands:
    def test_create_prints_the_id_and_a_first_key_once(self, cli_database: Path) -> None:
        # Act
        result = invoke("operator", "create", "Alpha Charging")

        # Assert
        assert result.exit_code == 0, result.output
        lines = result.stdout.splitlines()
        assert lines[0] == "operator 1 (Alpha Charging) created"
        key = lines[1].rsplit(" ", 1)[1]
        assert key.startswith("evb_")
        assert result.stdout.count(key) == 1
        assert lines[1].startswith("API key 1 (first) of operator 1, shown once: ")

    def test_list_shows_each_operator_with_its_active_keys(self, cli_database: Path) -> None:
        # Arrange
        invoke_json("operator", "create", "Alpha Charging")
        beta = invoke_json("operator", "create", "Beta Charging")
        invoke_json("apikey", "create", "--name", "spare", "--operator", str(beta["id"]))

        # Act
        listed = invoke_json("operator", "list")
        text = invoke("operator", "list").stdout

        # Assert
        assert [(o["id"], o["name"], o["active_api_keys"]) for o in listed["items"]] == [
            (1, "Alpha Charging", 1),
            (2, "Beta Charging", 2),
        ]
        assert "Beta Charging" in text
        assert "(1-2 of 2)" in text
        assert "evb_" not in text

    def test_the_first_operator_created_is_the_installations(self, cli_database: Path) -> None:
        invoke_json("operator", "create", "Alpha Charging")

        location = invoke_json("location", "add", "--name", "Depot", "--time-zone", "UTC")

        assert invoke_json("operator", "list")["total"] == 1
        assert location["id"] == 1

    def test_refuses_a_blank_name_and_creates_nothing(self, cli_database: Path) -> None:
        result = invoke("operator", "create", "   ")

        assert result.exit_code == 1
        assert "name" in result.stderr
        assert invoke_json("operator", "list")["total"] == 0

    async def test_an_operators_key_works_against_the_server_and_sees_only_its_own(
        self, cli_database: Path
    ) -> None:
        # Arrange
        alpha = await asyncio.to_thread(invoke_json, "operator", "create", "Alpha Charging")
        beta = await asyncio.to_thread(invoke_json, "operator", "create", "Beta Charging")
        await asyncio.to_thread(
            invoke_json, "location", "add", "--name", "Alpha depot", "--time-zone", "UTC"
        )

        # Act
        async with server_api(cli_database, beta["api_key"]["key"]) as as_beta:
            keys = (await as_beta.get("/api-keys")).json()
            locations = (await as_beta.get("/locations")).json()
            alphas = await as_beta.get("/locations/1")
        async with server_api(cli_database, alpha["api_key"]["key"]) as as_alpha:
            own = (await as_alpha.get("/locations")).json()

        # Assert
        assert [k["id"] for k in keys["items"]] == [beta["api_key"]["id"]]
        assert locations["total"] == 0
        assert alphas.status_code == 404
        assert [item["name"] for item in own["items"]] == ["Alpha depot"]
        secret_file = cli_database.parent / SECRET_FILE_NAME
        assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600


class TestApiKeyCommands:
    def test_list_never_shows_a_key_or_its_digest(self, cli_database: Path) -> None:
        # Arrange
        issued = invoke_json("apikey", "create", "--name", "back office")

        # Act
        as_json = invoke("apikey", "list", "--json").stdout
        as_text = invoke("apikey", "list").stdout

        # Assert
        secret = issued["key"].split("_", 2)[2]
        [digest] = stored_digests(cli_database)
        for output in (as_json, as_text):
            assert secret not in output
            assert digest.split("$")[1] not in output
            assert "hmac" not in output
        assert as_text.splitlines()[0].split() == [
            "id",
            "name",
            "prefix",
            "scopes",
            "created_at",
            "last_used_at",
            "revoked_at",
        ]
        assert issued["prefix"] in as_text
        assert "back office" in as_text

    async def test_a_key_revoked_on_the_command_line_is_refused_by_the_server_at_once(
        self, cli_database: Path
    ) -> None:
        # Arrange
        issued = await asyncio.to_thread(invoke_json, "apikey", "create", "--name", "doomed")

        # Act
        async with server_api(cli_database, issued["key"]) as api:
            before = await api.get("/locations")
            revoked = await asyncio.to_thread(invoke_json, "apikey", "revoke", str(issued["id"]))
            after = await api.get("/locations")

        # Assert
        assert before.status_code == 200, before.text
        assert revoked["revoked_at"] is not None
        assert after.status_code == 401
        listed = await asyncio.to_thread(invoke_json, "apikey", "list")
        assert listed["items"][0]["revoked_at"] == revoked["revoked_at"]
        assert listed["items"][0]["last_used_at"] is not None

    def test_key_commands_for_another_operator(self, cli_database: Path) -> None:
        # Arrange
        invoke_json("operator", "create", "Alpha Charging")
        beta = invoke_json("operator", "create", "Beta Charging")

        # Act
        alpha_keys = invoke_json("apikey", "list")
        beta_keys = invoke_json("apikey", "list", "--operator", str(beta["id"]))
        cross = invoke("apikey", "revoke", str(beta["api_key"]["id"]))
        unknown = invoke("apikey", "list", "--operator", "99")

        # Assert
        assert [k["id"] for k in alpha_keys["items"]] == [1]
        assert [k["id"] for k in beta_keys["items"]] == [beta["api_key"]["id"]]
        assert cross.exit_code == 1
        assert "api key 2 not found" in cross.stderr
        assert unknown.exit_code == 1
        assert "operator 99 not found" in unknown.stderr
        beta_after = invoke_json("apikey", "list", "--operator", str(beta["id"]))
        assert beta_after["items"][0]["revoked_at"] is None


class TestTheSecretSetting:
    def test_serve_on_postgresql_without_the_secret_stops_with_the_setting_named(self) -> None:
        result = CliRunner().invoke(
            cli_app,
            ["serve"],
            env={"EVBILLING_DATABASE_URL": "postgresql+asyncpg://nobody@127.0.0.1:1/none"},
        )

        assert result.exit_code == 2
        assert "set EVBILLING_API_KEY_SECRET" in result.stderr

    def test_a_short_secret_is_refused(self, cli_database: Path) -> None:
        result = CliRunner().invoke(
            cli_app, ["apikey", "create"], env={"EVBILLING_API_KEY_SECRET": "too-short"}
        )

        assert result.exit_code == 1
        assert "at least 32 characters" in result.stderr
        assert stored_digests(cli_database) == []

    def test_keys_issued_under_the_setting_need_it(self, cli_database: Path) -> None:
        secret = {"EVBILLING_API_KEY_SECRET": "a-production-secret-of-32-characters"}
        issued = json.loads(
            CliRunner().invoke(cli_app, ["apikey", "create", "--json"], env=secret).stdout
        )

        [digest] = stored_digests(cli_database)

        assert digest == ApiKeyHasher.from_secret(secret["EVBILLING_API_KEY_SECRET"]).digest(
            issued["key"]
        )
        assert not (cli_database.parent / SECRET_FILE_NAME).exists()
