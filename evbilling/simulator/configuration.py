"""The simulated station's OCPP configuration keys, as GetConfiguration and
ChangeConfiguration see them; two of them (heartbeat and sample interval) can be changed."""

from __future__ import annotations

from collections.abc import Sequence

from ocpp.v16.enums import ConfigurationStatus

HEARTBEAT_INTERVAL = "HeartbeatInterval"
METER_VALUE_SAMPLE_INTERVAL = "MeterValueSampleInterval"
SAMPLED_MEASURANDS = "Energy.Active.Import.Register,Power.Active.Import,Current.Import,Voltage,SoC"


class StationConfiguration:
    """The keys' values; the station reads its intervals from here."""

    __slots__ = (
        "_connectors",
        "_default_sample_interval_s",
        "heartbeat_interval_s",
        "sample_interval_s",
    )

    def __init__(
        self, *, connectors: int, heartbeat_interval_s: int, default_sample_interval_s: int
    ) -> None:
        self._connectors = connectors
        self._default_sample_interval_s = default_sample_interval_s
        self.heartbeat_interval_s = heartbeat_interval_s
        # None until ChangeConfiguration sets it: sessions then draw random intervals.
        self.sample_interval_s: int | None = None

    def read(self, *, keys: Sequence[str] | None) -> tuple[dict[str, tuple[bool, str]], list[str]]:
        """(known keys -> (readonly, value), unknown keys); every key when ``keys`` is empty."""
        sample_interval = self.sample_interval_s or self._default_sample_interval_s
        table: dict[str, tuple[bool, str]] = {
            HEARTBEAT_INTERVAL: (False, str(self.heartbeat_interval_s)),
            METER_VALUE_SAMPLE_INTERVAL: (False, str(sample_interval)),
            "NumberOfConnectors": (True, str(self._connectors)),
            "AuthorizeRemoteTxRequests": (True, "false"),
            "StopTransactionOnInvalidId": (True, "true"),
            "MeterValuesSampledData": (True, SAMPLED_MEASURANDS),
            "SupportedFeatureProfiles": (True, "Core,RemoteTrigger"),
        }
        if not keys:
            return table, []
        known = {key: table[key] for key in keys if key in table}
        return known, [key for key in keys if key not in table]

    def change(self, *, key: str, value: str) -> str:
        """The ChangeConfiguration status."""
        readonly = {name for name, (ro, _) in self.read(keys=None)[0].items() if ro}
        if key in readonly:
            return str(ConfigurationStatus.rejected)
        if key not in (HEARTBEAT_INTERVAL, METER_VALUE_SAMPLE_INTERVAL):
            return str(ConfigurationStatus.not_supported)
        try:
            seconds = int(value)
        except ValueError:
            return str(ConfigurationStatus.rejected)
        if seconds < 1:
            return str(ConfigurationStatus.rejected)
        if key == HEARTBEAT_INTERVAL:
            self.heartbeat_interval_s = seconds
        else:
            self.sample_interval_s = seconds
        return str(ConfigurationStatus.accepted)
