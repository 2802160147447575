"""Payments: saved cards, holds around sessions, captures, refunds, provider events, and
reconciliation against the provider (docs/payments.md). `psp/` is the provider boundary.

What other slices call:

- `card_flow.plan_hold` / `execute_hold` / `record_hold` / `attach_session` (the charger
  edge, around Authorize and StartTransaction), `card_flow.request_release`;
- `jobs.settle_session(provider=...)` for `session.completed`, and the other handlers in
  `jobs` (main registers them);
- `providers.server_payments` / `remote_provider` (main and cli build the provider);
- `endpoints.router` (/api/v1), `endpoints.pages_router` (/payments),
  `endpoints.webhook_router` (/webhooks), `endpoints.IDEMPOTENT_ROUTES`.
"""
