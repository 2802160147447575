"""The Stripe adapter (`StripeProvider`), on the official SDK: the only module of evbilling
that imports `stripe`."""

from evbilling.payments.psp.stripe.provider import SIGNATURE_HEADER, StripeProvider

__all__ = ["SIGNATURE_HEADER", "StripeProvider"]
