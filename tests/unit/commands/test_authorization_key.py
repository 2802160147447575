"""The command that gives a station a new password, and how its answer is read."""

from __future__ import annotations

import pytest

from evbilling.commands.domain import (
    CONFIGURATION_TAKEN,
    ConfigurationStatus,
    change_authorization_key,
    configuration_status,
)


class TestAuthorizationKey:
    def test_sends_the_password_hexadecimal_as_the_security_whitepaper_asks(self) -> None:
        command = change_authorization_key("OCA_OCTT_admin_test")

        assert command.action == "ChangeConfiguration"
        assert command.payload() == {
            "key": "AuthorizationKey",
            "value": "4F43415F4F4354545F61646D696E5F74657374",
        }

    def test_a_twenty_character_password_fills_the_forty_digits(self) -> None:
        assert len(change_authorization_key("x" * 20).value) == 40

    @pytest.mark.parametrize(
        ("answer", "status", "taken"),
        [
            ({"status": "Accepted"}, ConfigurationStatus.ACCEPTED, True),
            ({"status": "RebootRequired"}, ConfigurationStatus.REBOOT_REQUIRED, True),
            ({"status": "Rejected"}, ConfigurationStatus.REJECTED, False),
            ({"status": "NotSupported"}, ConfigurationStatus.NOT_SUPPORTED, False),
            ({"status": "accepted"}, None, False),
            ({}, None, False),
        ],
    )
    def test_only_accepted_or_reboot_required_means_the_station_took_it(
        self, answer: dict[str, str], status: ConfigurationStatus | None, taken: bool
    ) -> None:
        assert configuration_status(answer) == status
        assert (configuration_status(answer) in CONFIGURATION_TAKEN) is taken
