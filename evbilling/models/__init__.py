"""Every SQLAlchemy model, one module per aggregate, on one metadata (`Base.metadata`):
operator -> location -> station -> EVSE/connector; drivers, groups, tokens; versioned OCPI
tariffs; charging sessions with meter readings and anomalies; connector status history; OCPP
messages that failed on their own (dead letters); the double-entry ledger; card payments
(customers, saved methods, holds, refunds, provider calls and events, settled session
charges); prepaid wallets (reservations, card top-ups); postpaid accounts, their sessions,
statements and payments; driver accounts of the app and their tokens; the mail outbox;
one-time codes linking RFID cards to drivers; ad-hoc payments."""

from evbilling.models.adhoc import AdhocPayment
from evbilling.models.app_accounts import (
    AccountLink,
    AppAccessToken,
    AppRefreshToken,
    DriverAccount,
)
from evbilling.models.base import NAMING, Base, BigId
from evbilling.models.charging import ChargingSession, MeteringAnomaly, MeterValueRecord
from evbilling.models.drivers import Driver, DriverGroup, Token
from evbilling.models.idempotency import IdempotencyKey
from evbilling.models.jobs import Job
from evbilling.models.ledger import (
    LedgerAccount,
    LedgerEntry,
    LedgerImbalance,
    LedgerLine,
    LedgerPending,
)
from evbilling.models.locations import Location
from evbilling.models.mail import MailMessage
from evbilling.models.ocpp import MAX_DEAD_LETTER_FRAME, OcppDeadLetter
from evbilling.models.operators import ApiKey, Operator
from evbilling.models.payments import (
    CardSetup,
    Payment,
    PaymentCustomer,
    PaymentMethod,
    PaymentRefund,
    ProviderCall,
    ReconciliationRun,
    SessionCharge,
    WebhookInbox,
)
from evbilling.models.postpaid import (
    PostpaidAccount,
    PostpaidExposure,
    PostpaidPayment,
    PostpaidStatement,
    PostpaidStatementLine,
)
from evbilling.models.rfid_links import RfidLinkCode
from evbilling.models.stations import ConnectorStatusEvent, Evse, Station
from evbilling.models.tariffs import Tariff, TariffVersion
from evbilling.models.wallets import Wallet, WalletReservation, WalletTopup

__all__ = [
    "MAX_DEAD_LETTER_FRAME",
    "NAMING",
    "AccountLink",
    "AdhocPayment",
    "ApiKey",
    "AppAccessToken",
    "AppRefreshToken",
    "Base",
    "BigId",
    "CardSetup",
    "ChargingSession",
    "ConnectorStatusEvent",
    "Driver",
    "DriverAccount",
    "DriverGroup",
    "Evse",
    "IdempotencyKey",
    "Job",
    "LedgerAccount",
    "LedgerEntry",
    "LedgerImbalance",
    "LedgerLine",
    "LedgerPending",
    "Location",
    "MailMessage",
    "MeterValueRecord",
    "MeteringAnomaly",
    "OcppDeadLetter",
    "Operator",
    "Payment",
    "PaymentCustomer",
    "PaymentMethod",
    "PaymentRefund",
    "PostpaidAccount",
    "PostpaidExposure",
    "PostpaidPayment",
    "PostpaidStatement",
    "PostpaidStatementLine",
    "ProviderCall",
    "ReconciliationRun",
    "RfidLinkCode",
    "SessionCharge",
    "Station",
    "Tariff",
    "TariffVersion",
    "Token",
    "Wallet",
    "WalletReservation",
    "WalletTopup",
    "WebhookInbox",
]
