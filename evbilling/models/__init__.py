"""Every SQLAlchemy model, one module per aggregate, on one metadata (`Base.metadata`):
operator -> location -> station -> EVSE/connector; drivers, groups, tokens; versioned OCPI
tariffs; charging sessions with meter readings and anomalies; connector status history."""

from evbilling.models.base import NAMING, Base, BigId
from evbilling.models.charging import ChargingSession, MeteringAnomaly, MeterValueRecord
from evbilling.models.drivers import Driver, DriverGroup, Token
from evbilling.models.jobs import Job
from evbilling.models.locations import Location
from evbilling.models.operators import ApiKey, Operator
from evbilling.models.stations import ConnectorStatusEvent, Evse, Station
from evbilling.models.tariffs import Tariff, TariffVersion

__all__ = [
    "NAMING",
    "ApiKey",
    "Base",
    "BigId",
    "ChargingSession",
    "ConnectorStatusEvent",
    "Driver",
    "DriverGroup",
    "Evse",
    "Job",
    "Location",
    "MeterValueRecord",
    "MeteringAnomaly",
    "Operator",
    "Station",
    "Tariff",
    "TariffVersion",
    "Token",
]
