"""Operators and API keys: `service` issues, revokes and authenticates keys, `caller` is the
API-key dependency of every operator route, `cli` the `apikey` commands."""
