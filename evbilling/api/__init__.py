"""The operator REST API (FastAPI), mounted at /api/v1."""

from evbilling.api.app import create_api

__all__ = ["create_api"]
