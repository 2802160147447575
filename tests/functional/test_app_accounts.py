"""A driver signs up against a real server: the verification mail arrives as a file, its
link verifies the address, and the driver logs in and reads their account."""

from __future__ import annotations

import asyncio
import email
import re
from email import policy
from pathlib import Path

import httpx
import uvicorn
from pydantic import SecretStr

from evbilling.config import Settings
from evbilling.infra.context import ServiceContext
from evbilling.infra.db.engine import create_engine, create_session_factory
from evbilling.infra.mail import enqueue_mail
from evbilling.kit import SystemClock
from evbilling.main import build_application, uvicorn_config
from tests.functional.cli_calls import invoke_json

API_KEY_SECRET = SecretStr("a-test-secret-of-at-least-32-characters")
PASSWORD = "a long enough password"


def _read_first(folder: Path) -> email.message.EmailMessage | None:
    files = sorted(folder.glob("*.eml"))
    if not files:
        return None
    message = email.message_from_bytes(files[0].read_bytes(), policy=policy.default)
    assert isinstance(message, email.message.EmailMessage)
    return message


async def _first_mail(folder: Path) -> email.message.EmailMessage:
    for _ in range(400):
        message = await asyncio.to_thread(_read_first, folder)
        if message is not None:
            return message
        await asyncio.sleep(0.05)
    raise AssertionError(f"no mail in {folder}")


class TestSignUpOverTheNetwork:
    async def test_sign_up_mail_verify_log_in_and_read_the_account(
        self, context: ServiceContext, operator_id: int, database_url: str, tmp_path: Path
    ) -> None:
        # Arrange: the server as `evbilling serve` builds it, mailing into a folder.
        mail_dir = tmp_path / "mail"
        settings = Settings(
            database_url=database_url,
            port=0,
            jobs_poll_interval_s=0.05,
            api_key_secret=API_KEY_SECRET,
            mail_dir=str(mail_dir),
            public_base_url="https://charge.example",
        )
        application = build_application(settings=settings)
        server = uvicorn.Server(uvicorn_config(application=application, settings=settings))
        serving = asyncio.create_task(server.serve())
        while not server.started:
            if serving.done():
                serving.result()
            await asyncio.sleep(0.01)
        port = server.servers[0].sockets[0].getsockname()[1]
        base = f"http://127.0.0.1:{port}/api/app/v1"
        try:
            async with httpx.AsyncClient(base_url=base, timeout=10) as client:
                # Act
                signup = await client.post(
                    "/signup",
                    json={
                        "operator_id": operator_id,
                        "email": "ada@example.com",
                        "password": PASSWORD,
                        "name": "Ada",
                    },
                )
                mail = await _first_mail(mail_dir)
                body = mail.get_body()
                assert body is not None
                link = re.search(
                    r"https://charge\.example(/api/app/v1/verify-email\?token=\S+)",
                    body.get_content(),
                )
                assert link is not None
                verified = await client.get(link.group(1).removeprefix("/api/app/v1"))
                login = await client.post(
                    "/login", json={"email": "ada@example.com", "password": PASSWORD}
                )
                token = login.json()["access_token"]
                me = await client.get("/me", headers={"Authorization": f"Bearer {token}"})
                openapi = await client.get("/openapi.json")
        finally:
            server.should_exit = True
            await asyncio.wait_for(serving, timeout=30)

        # Assert
        assert signup.status_code == 202
        assert mail["To"] == "ada@example.com"
        assert verified.status_code == 200
        assert login.status_code == 200
        assert me.json()["email"] == "ada@example.com"
        assert me.json()["verified"] is True
        assert openapi.json()["info"]["title"] == "evbilling driver app API"


async def _queue_one(database: Path) -> None:
    engine = create_engine(url=f"sqlite+aiosqlite:///{database}")
    context = ServiceContext(session_factory=create_session_factory(engine), clock=SystemClock())
    async with context.unit_of_work() as db:
        await enqueue_mail(
            db=db, to="ada@example.com", subject="Hello", body_text="Hi\n", now=context.clock.now()
        )
        await db.commit()
    await engine.dispose()


class TestMailCli:
    def test_lists_the_outbox_with_the_real_addresses(self, cli_database: Path) -> None:
        asyncio.run(_queue_one(cli_database))

        listed = invoke_json("mail", "list")
        shown = invoke_json("mail", "show", str(listed["items"][0]["id"]))

        assert [(m["to_address"], m["subject"], m["status"]) for m in listed["items"]] == [
            ("ada@example.com", "Hello", "pending")
        ]
        assert shown["body_text"] == "Hi\n"
