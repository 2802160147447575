"""The root of every error evbilling raises on purpose."""


class EVBillingError(Exception):
    """Base class: each subclass is named for the failure it reports."""
