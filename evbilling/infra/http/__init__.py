"""The HTTP edge: the API app factory (request ids), the per-request unit of work (`Db`),
RFC 9457 problem documents through one registry, the shared schema bases, and the limits a
client meets before the application does: body size and time (`limits`), request heads and
connections per address (`connections`), and the client's address behind trusted proxies
(`addresses`; `client_address(scope)`)."""

from evbilling.infra.http.addresses import client_address

__all__ = ["client_address"]
