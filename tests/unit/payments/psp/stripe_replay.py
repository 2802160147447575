"""A `stripe.HTTPClient` that answers from recorded exchanges (tests/fixtures/stripe) and
remembers every request the SDK made: no network, and the requests can be asserted on."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import stripe

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "stripe"


@dataclass(frozen=True, slots=True)
class SentRequest:
    method: str
    path: str
    query: dict[str, str]
    form: dict[str, str]
    headers: dict[str, str]


class ReplayHTTPClient(stripe.HTTPClient):
    name = "replay"

    def __init__(self, *fixtures: str) -> None:
        super().__init__()
        self.exchanges: list[dict[str, Any]] = []
        for name in fixtures:
            self.exchanges.extend(json.loads((FIXTURES / name).read_text())["exchanges"])
        self.sent: list[SentRequest] = []

    def request(  # type: ignore[override]
        self, method: str, url: str, headers: Mapping[str, str] | None, post_data: Any = None
    ) -> tuple[bytes, int, Mapping[str, str]]:
        raise AssertionError("the adapter must use the SDK's async methods")

    async def request_async(
        self, method: str, url: str, headers: Mapping[str, str], post_data: Any = None
    ) -> tuple[bytes, int, Mapping[str, str]]:
        parts = urlsplit(url)
        assert parts.netloc == "api.stripe.com", url
        body = post_data.decode() if isinstance(post_data, bytes) else post_data or ""
        sent = SentRequest(
            method=method.lower(),
            path=parts.path,
            query=dict(parse_qsl(parts.query)),
            form=dict(parse_qsl(body)),
            headers=dict(headers),
        )
        self.sent.append(sent)
        assert self.exchanges, f"unexpected request {sent.method} {sent.path}"
        exchange = self.exchanges.pop(0)
        expected = exchange["request"]
        assert (sent.method, sent.path) == (expected["method"], expected["path"]), sent
        for field, value in expected.get("form", {}).items():
            assert sent.form.get(field) == value, (field, sent.form.get(field), value)
        for field, value in expected.get("query", {}).items():
            assert sent.query.get(field) == value, (field, sent.query.get(field), value)
        response = exchange["response"]
        answer = json.dumps(response["body"]).encode()
        return answer, response["status"], {"Request-Id": f"req_replay_{len(self.sent)}"}

    async def sleep_async(self, secs: float) -> None:
        return None

    def close(self) -> None:
        return None

    async def close_async(self) -> None:
        return None
