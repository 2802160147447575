"""Payments: saved cards, holds around sessions, captures, refunds, provider events, and
reconciliation against the provider (docs/payments.md). `psp/` is the provider boundary."""
