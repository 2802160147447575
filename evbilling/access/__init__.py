"""Operators and API keys: `service` issues, revokes and authenticates keys, `caller` is the
API-key dependency of every operator route, `cli` the `apikey` commands. The driver app's
tokens: `app_tokens` (issue, rotate, revoke), `driver_caller` (the access-token dependency
of every app route)."""
