"""Logs: one event name with fields, personal data pseudonymized by a processor."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest
import structlog

from evbilling.infra.logging import (
    _Pseudonyms,
    bind_request,
    configure_logging,
    get_logger,
    pseudonymize,
    unbind_request,
)


@pytest.fixture
def restored_logging() -> Iterator[None]:
    """configure_logging changes process-wide state; put it back afterwards."""
    config = structlog.get_config()
    root = logging.getLogger()
    handlers, level, key = root.handlers[:], root.level, _Pseudonyms.key
    yield
    structlog.configure(**config)
    root.handlers[:] = handlers
    root.setLevel(level)
    _Pseudonyms.key = key
    unbind_request()


class TestPseudonymization:
    def test_personal_fields_never_reach_the_log_in_clear(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        caplog.set_level(logging.INFO)

        get_logger("evbilling.test").info(
            "token.seen", id_tag="04A1B2C3D4", email="ada@example.com", address="10.1.2.3"
        )

        (line,) = [r.getMessage() for r in caplog.records if r.name == "evbilling.test"]
        assert "token.seen" in line
        for secret in ("04A1B2C3D4", "ada@example.com", "10.1.2.3"):
            assert secret not in line
        assert pseudonymize("04A1B2C3D4") in line

    def test_the_same_value_gets_the_same_pseudonym_within_a_key(self) -> None:
        assert pseudonymize("04a1b2c3d4 ") == pseudonymize("04A1B2C3D4")
        assert pseudonymize("04A1B2C3D4") != pseudonymize("04A1B2C3D5")

    def test_other_fields_are_kept_as_given(self, caplog: pytest.LogCaptureFixture) -> None:
        caplog.set_level(logging.INFO)

        get_logger("evbilling.test").info("session.started", station="CP-1", transaction_id=7)

        (line,) = [r.getMessage() for r in caplog.records if r.name == "evbilling.test"]
        assert "station='CP-1'" in line
        assert "transaction_id=7" in line


@pytest.mark.usefixtures("restored_logging")
class TestConfiguredOutput:
    def test_json_lines_with_bound_request_fields_and_the_configured_key(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        configure_logging(level="INFO", pseudonym_key=b"deployment-key", json_lines=True)
        bind_request(request_id="r-1")

        get_logger("evbilling.test").info("payment.started", uid="04A1B2C3D4", amount="9.99")

        line = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
        assert line["event"] == "payment.started"
        assert line["request_id"] == "r-1"
        assert line["level"] == "info"
        assert line["amount"] == "9.99"
        assert line["uid"] == pseudonymize("04A1B2C3D4")
        assert "04A1B2C3D4" not in json.dumps(line)
        assert _Pseudonyms.key == b"deployment-key"

    def test_standard_library_lines_get_the_same_shape(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        configure_logging(level="INFO", pseudonym_key=None, json_lines=True)

        logging.getLogger("some.library").info("Started server process")

        line = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
        assert line["event"] == "Started server process"
        assert line["logger"] == "some.library"
