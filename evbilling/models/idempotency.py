"""The Idempotency-Key table, declared by the HTTP edge (evbilling.infra.http.idempotency_model)."""

from evbilling.infra.http.idempotency_model import IdempotencyKey

__all__ = ["IdempotencyKey"]
