"""The rules of a location's values: its country code and the time zone its stations' charges
are rated in. Parsed once at every edge (API, CLI) and again by the services."""

from __future__ import annotations

import re
from typing import Final, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from evbilling.kit.values import InvalidValue, ValidatedText

MAX_ADDRESS_LENGTH: Final = 300
MAX_CITY_LENGTH: Final = 100
MAX_POSTAL_CODE_LENGTH: Final = 20


class CountryCode(ValidatedText):
    """ISO 3166-1 alpha-3, upper-case, as OCPI writes it (DEU)."""

    __slots__ = ()
    PATTERN = re.compile(r"[A-Z]{3}")
    MAX_LENGTH = 3
    RULE = "an upper-case ISO 3166-1 alpha-3 code such as DEU"
    FIELD = "country"

    @classmethod
    def normalize(cls, value: str) -> str:
        return value.strip()


class TimeZone(ValidatedText):
    """An IANA time zone name that this installation's zone database knows."""

    __slots__ = ()
    # The characters of IANA names (Etc/GMT+1, America/Port-au-Prince); no dots, so no path
    # tricks reach the zone database.
    PATTERN = re.compile(r"[A-Za-z0-9_+-]+(?:/[A-Za-z0-9_+-]+)*")
    MAX_LENGTH = 64
    RULE = "an IANA time zone such as Europe/Berlin"
    FIELD = "time_zone"

    @classmethod
    def normalize(cls, value: str) -> str:
        return value.strip()

    @classmethod
    def parse(cls, value: object, *, field: str | None = None) -> Self:
        zone = super().parse(value, field=field)
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
            raise InvalidValue(
                f"unknown IANA time zone {zone!r} (e.g. Europe/Berlin)", field=field or cls.FIELD
            ) from exc
        return zone
