"""The HTTP edge: the API app factory (request ids), the per-request unit of work (`Db`),
RFC 9457 problem documents through one registry, and the shared schema bases."""
