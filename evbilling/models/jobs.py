"""The job queue's table, declared by the queue itself (evbilling.infra.jobs.model)."""

from evbilling.infra.jobs.model import Job

__all__ = ["Job"]
