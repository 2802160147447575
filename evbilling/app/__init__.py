"""The driver app API under /api/app/v1: drivers reach only their own objects.

`api.create_app_api` (mounted by main), `routers.APP_ROUTERS` (one line per router),
`account_endpoints` (sign-up, log-in, tokens, passwords, /me), `login_throttle`, `closure`
(the hook of account closure), `jobs` (token pruning). docs/app-api.md.
"""
