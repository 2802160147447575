"""The declarative base every model shares (defined in infra, see evbilling.infra.db.base)."""

from evbilling.infra.db.base import NAMING, Base, BigId

__all__ = ["NAMING", "Base", "BigId"]
