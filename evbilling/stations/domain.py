"""The rules of a station's values: its OCPP identity, its EVSEs' IDs, connector standards,
power types and the limits the API documents."""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Final

from evbilling.kit.values import ValidatedText

MIN_CONNECTORS: Final = 1
MAX_CONNECTORS: Final = 8
MAX_CONNECTOR_ID: Final = 255
MIN_POWER_W: Final = 1
MAX_POWER_W: Final = 1_000_000
DEFAULT_MAX_POWER_W: Final = 22_000

StationKey = int | str
"""A station by id (int) or by identity (str); a str that is no identity but a number is
read as an id, so command lines can take either."""


class StationIdentity(ValidatedText):
    """The OCPP charge point identity: the last segment of the station's WebSocket URL, so
    unreserved URL characters only. Taken exactly as given: it is the station's login name."""

    __slots__ = ()
    PATTERN = re.compile(r"[A-Za-z0-9._~:-]{1,48}")
    MAX_LENGTH = 48
    RULE = "1 to 48 characters of A-Z a-z 0-9 . _ ~ : -"
    FIELD = "identity"


class EvseUid(ValidatedText):
    """An eMI3 / ISO 15118 EVSE ID: country, operator, 'E', outlet id; '*' separators
    optional. Case-insensitive, so stored upper-case and unique exactly."""

    __slots__ = ()
    PATTERN = re.compile(r"[A-Z]{2}\*?[A-Z0-9]{3}\*?E[A-Z0-9*]{1,30}")
    MAX_LENGTH = 48
    RULE = "an EVSE ID such as DE*ABC*E1234"
    FIELD = "uid"

    @classmethod
    def normalize(cls, value: str) -> str:
        return value.strip().upper()


class PowerType(StrEnum):
    AC_1_PHASE = "AC_1_PHASE"
    AC_3_PHASE = "AC_3_PHASE"
    DC = "DC"


class ConnectorStandard(StrEnum):
    """OCPI 2.2.1 ConnectorType."""

    CHADEMO = "CHADEMO"
    CHAOJI = "CHAOJI"
    DOMESTIC_A = "DOMESTIC_A"
    DOMESTIC_B = "DOMESTIC_B"
    DOMESTIC_C = "DOMESTIC_C"
    DOMESTIC_D = "DOMESTIC_D"
    DOMESTIC_E = "DOMESTIC_E"
    DOMESTIC_F = "DOMESTIC_F"
    DOMESTIC_G = "DOMESTIC_G"
    DOMESTIC_H = "DOMESTIC_H"
    DOMESTIC_I = "DOMESTIC_I"
    DOMESTIC_J = "DOMESTIC_J"
    DOMESTIC_K = "DOMESTIC_K"
    DOMESTIC_L = "DOMESTIC_L"
    DOMESTIC_M = "DOMESTIC_M"
    DOMESTIC_N = "DOMESTIC_N"
    DOMESTIC_O = "DOMESTIC_O"
    GBT_AC = "GBT_AC"
    GBT_DC = "GBT_DC"
    IEC_60309_2_SINGLE_16 = "IEC_60309_2_single_16"
    IEC_60309_2_THREE_16 = "IEC_60309_2_three_16"
    IEC_60309_2_THREE_32 = "IEC_60309_2_three_32"
    IEC_60309_2_THREE_64 = "IEC_60309_2_three_64"
    IEC_62196_T1 = "IEC_62196_T1"
    IEC_62196_T1_COMBO = "IEC_62196_T1_COMBO"
    IEC_62196_T2 = "IEC_62196_T2"
    IEC_62196_T2_COMBO = "IEC_62196_T2_COMBO"
    IEC_62196_T3A = "IEC_62196_T3A"
    IEC_62196_T3C = "IEC_62196_T3C"
    NEMA_5_20 = "NEMA_5_20"
    NEMA_6_30 = "NEMA_6_30"
    NEMA_6_50 = "NEMA_6_50"
    NEMA_10_30 = "NEMA_10_30"
    NEMA_10_50 = "NEMA_10_50"
    NEMA_14_30 = "NEMA_14_30"
    NEMA_14_50 = "NEMA_14_50"
    PANTOGRAPH_BOTTOM_UP = "PANTOGRAPH_BOTTOM_UP"
    PANTOGRAPH_TOP_DOWN = "PANTOGRAPH_TOP_DOWN"
    TESLA_R = "TESLA_R"
    TESLA_S = "TESLA_S"
