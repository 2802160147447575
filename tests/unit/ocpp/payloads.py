"""Valid OCPP 1.6 payloads and frame helpers shared by the decoder and schema tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import ocpp
import orjson
import pytest

from evbilling.ocpp.v16.decoder import FrameDecoder
from evbilling.ocpp.v16.frames import FrameRejected

SCHEMA_DIR = Path(ocpp.__file__).parent / "v16" / "schemas"
TIMESTAMP = "2026-03-02T09:00:00.123Z"
INT64_MAX = 2**63 - 1


def sampled_value(**overrides: Any) -> dict[str, Any]:
    value: dict[str, Any] = {
        "value": "230.1",
        "context": "Sample.Periodic",
        "format": "Raw",
        "measurand": "Voltage",
        "phase": "L1-N",
        "location": "Outlet",
        "unit": "V",
    }
    value.update(overrides)
    return value


def meter_values_payload() -> dict[str, Any]:
    """A realistic three-phase sample: voltage, current, power and energy per phase."""
    measurands = [
        ("Voltage", "V", "230.1", ["L1-N", "L2-N", "L3-N"]),
        ("Current.Import", "A", "16.02", ["L1", "L2", "L3"]),
        ("Power.Active.Import", "W", "3684.6", ["L1", "L2", "L3"]),
        ("Energy.Active.Import.Register", "Wh", "1234567", ["L1", "L2", "L3"]),
    ]
    return {
        "connectorId": 1,
        "transactionId": 4711,
        "meterValue": [
            {
                "timestamp": TIMESTAMP,
                "sampledValue": [
                    sampled_value(measurand=measurand, unit=unit, value=value, phase=phase)
                    for measurand, unit, value, phases in measurands
                    for phase in phases
                ],
            }
        ],
    }


def start_transaction_payload(**overrides: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "connectorId": 1,
        "idTag": "04A2B3C4D5E6F7",
        "meterStart": 1000,
        "timestamp": TIMESTAMP,
    }
    payload.update(overrides)
    return payload


def stop_transaction_payload() -> dict[str, Any]:
    return {
        "meterStop": 2500,
        "timestamp": TIMESTAMP,
        "transactionId": 4711,
        "reason": "Local",
        "idTag": "04A2B3C4D5E6F7",
        "transactionData": [
            {
                "timestamp": "2026-03-02T09:00:00Z",
                "sampledValue": [
                    {"value": "1000", "measurand": "Energy.Active.Import.Register", "unit": "Wh"}
                ],
            },
            {
                "timestamp": TIMESTAMP,
                "sampledValue": [
                    {"value": "2500", "measurand": "Energy.Active.Import.Register", "unit": "Wh"}
                ],
            },
        ],
    }


VALID_REQUESTS: dict[str, dict[str, Any]] = {
    "Authorize": {"idTag": "04A2B3C4D5E6F7"},
    "BootNotification": {
        "chargePointVendor": "VendorX",
        "chargePointModel": "SingleSocketCharger",
        "chargePointSerialNumber": "SN-0001",
        "firmwareVersion": "1.2.3",
        "meterType": "DC-Meter",
    },
    "DataTransfer": {"vendorId": "com.example", "messageId": "Price", "data": '{"a":1}'},
    "DiagnosticsStatusNotification": {"status": "Uploaded"},
    "FirmwareStatusNotification": {"status": "Installed"},
    "Heartbeat": {},
    "LogStatusNotification": {"status": "Uploaded", "requestId": 7},
    "MeterValues": meter_values_payload(),
    "SecurityEventNotification": {
        "type": "SettingSystemTime",
        "timestamp": TIMESTAMP,
        "techInfo": "NTP",
    },
    "SignCertificate": {"csr": "-----BEGIN CERTIFICATE REQUEST-----\nMIIB...\n"},
    "SignedFirmwareStatusNotification": {"status": "SignatureVerified", "requestId": 3},
    "StartTransaction": start_transaction_payload(reservationId=0),
    "StatusNotification": {
        "connectorId": 0,
        "errorCode": "NoError",
        "status": "Available",
        "timestamp": TIMESTAMP,
        "info": "ok",
    },
    "StopTransaction": stop_transaction_payload(),
}


def call(action: str, payload: object, message_id: str = "m-1") -> bytes:
    return orjson.dumps([2, message_id, action, payload])


def rejection(raw: str | bytes, decoder: FrameDecoder | None = None) -> FrameRejected:
    with pytest.raises(FrameRejected) as caught:
        (decoder or FrameDecoder()).decode(raw)
    return caught.value
