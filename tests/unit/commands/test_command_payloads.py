"""Each operator command carries the OCPP 1.6 payload its action expects."""

from __future__ import annotations

from evbilling.commands.domain import (
    ChangeAvailability,
    ChangeConfiguration,
    ClearCache,
    GetConfiguration,
    RemoteStart,
    RemoteStop,
    Reset,
    StationCommand,
    TriggerMessage,
    UnlockConnector,
)
from evbilling.infra.station_link import AvailabilityType, ResetType, TriggerableMessage


def test_every_command_names_its_action_and_payload() -> None:
    cases: list[tuple[StationCommand, str, dict[str, object]]] = [
        (RemoteStart(id_tag=" 04a1b2c3d4 "), "RemoteStartTransaction", {"idTag": "04A1B2C3D4"}),
        (
            RemoteStart(id_tag="04A1", connector_id=2),
            "RemoteStartTransaction",
            {"idTag": "04A1", "connectorId": 2},
        ),
        (RemoteStop(transaction_id=7), "RemoteStopTransaction", {"transactionId": 7}),
        (Reset(type=ResetType.HARD), "Reset", {"type": "Hard"}),
        (UnlockConnector(connector_id=1), "UnlockConnector", {"connectorId": 1}),
        (
            ChangeAvailability(connector_id=0, type=AvailabilityType.INOPERATIVE),
            "ChangeAvailability",
            {"connectorId": 0, "type": "Inoperative"},
        ),
        (GetConfiguration(), "GetConfiguration", {}),
        (GetConfiguration(keys=("A", "B")), "GetConfiguration", {"key": ["A", "B"]}),
        (
            ChangeConfiguration(key="HeartbeatInterval", value="60"),
            "ChangeConfiguration",
            {"key": "HeartbeatInterval", "value": "60"},
        ),
        (
            TriggerMessage(requested_message=TriggerableMessage.METER_VALUES, connector_id=1),
            "TriggerMessage",
            {"requestedMessage": "MeterValues", "connectorId": 1},
        ),
        (ClearCache(), "ClearCache", {}),
    ]

    assert [(command.action, command.payload()) for command, _, _ in cases] == [
        (action, payload) for _, action, payload in cases
    ]
