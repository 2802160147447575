"""Who a request comes from: the TCP peer, or, only when that peer is a trusted proxy, the
client the proxy names in its forwarding header.

A forwarding header is text the client can write, so it is believed only as far as trusted
proxies wrote it: the hops are read from the right (the nearest proxy appends last) and the
first hop that is not itself a trusted proxy is the client. Whatever the client put to the
left of that is ignored. Only the header the proxies are configured to write is read
(`X-Forwarded-For` or RFC 7239 `Forwarded`, never both), since a proxy that maintains one
passes the other through from the client untouched.

`ResolveClientAddress` (pure ASGI, outermost) resolves the address once per request or
WebSocket and stores it in the scope; `client_address(scope)` is what the gateway, the
throttle and the request logs use.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

CLIENT_ADDRESS_KEY = "evbilling.client_address"
UNKNOWN_ADDRESS = "unknown"

IpAddress = IPv4Address | IPv6Address
IpNetwork = IPv4Network | IPv6Network


class ForwardedHeader(StrEnum):
    X_FORWARDED_FOR = "x-forwarded-for"
    FORWARDED = "forwarded"


def parse_address(text: str) -> IpAddress | None:
    """An address as written in a forwarding header or a socket name: optional quotes,
    brackets and port; IPv4-mapped IPv6 reads as IPv4. None for anything else ("unknown",
    obfuscated identifiers, garbage)."""
    node = text.strip().strip('"').strip()
    if node.startswith("["):
        node = node[1 : node.find("]")] if "]" in node else ""
    elif node.count(":") == 1:  # IPv4 with a port; bare IPv6 has several colons
        node = node.partition(":")[0]
    try:
        address = ip_address(node)
    except ValueError:
        return None
    if isinstance(address, IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def parse_networks(cidrs: Iterable[str]) -> tuple[IpNetwork, ...]:
    """CIDRs (or single addresses); raises ValueError naming the first one that is not."""
    networks: list[IpNetwork] = []
    for cidr in cidrs:
        try:
            networks.append(ip_network(cidr.strip(), strict=False))
        except ValueError as exc:
            raise ValueError(f"not an IP network: {cidr!r}") from exc
    return tuple(networks)


@dataclass(frozen=True, slots=True)
class TrustedProxies:
    """The proxies whose forwarding header is believed; none by default."""

    networks: tuple[IpNetwork, ...] = ()
    header: ForwardedHeader = ForwardedHeader.X_FORWARDED_FOR

    @classmethod
    def parse(
        cls, cidrs: Iterable[str], *, header: str = ForwardedHeader.X_FORWARDED_FOR
    ) -> TrustedProxies:
        return cls(networks=parse_networks(cidrs), header=ForwardedHeader(header))

    def trusts(self, address: IpAddress | None) -> bool:
        if address is None:
            return False
        return any(address in network for network in self.networks)

    def resolve(self, scope: Scope) -> str:
        """The client's address for this scope, as text (canonical form)."""
        peer = peer_address(scope)
        if peer is None:
            return UNKNOWN_ADDRESS
        if not self.trusts(peer):
            return str(peer)
        closest = peer
        for hop in reversed(list(self._hops(scope))):
            if hop is None:
                # A hop a trusted proxy wrote that is no address: keep the nearest one known.
                break
            closest = hop
            if not self.trusts(hop):
                break
        return str(closest)

    def _hops(self, scope: Scope) -> Iterator[IpAddress | None]:
        """The forwarding header's hops, left (farthest) to right (nearest)."""
        wanted = self.header.value.encode("latin-1")
        values = [
            value.decode("latin-1") for name, value in scope.get("headers", ()) if name == wanted
        ]
        # Split naively on commas: a quote the client leaves open must not swallow the hops
        # the proxies appended after it.
        for element in ",".join(values).split(","):
            if not element.strip():
                continue
            if self.header is ForwardedHeader.X_FORWARDED_FOR:
                yield parse_address(element)
            else:
                yield _forwarded_for(element)


def _forwarded_for(element: str) -> IpAddress | None:
    """The `for=` node of one RFC 7239 forwarded-element (`for=1.2.3.4;proto=https`)."""
    for pair in element.split(";"):
        name, _, value = pair.partition("=")
        if name.strip().lower() == "for":
            return parse_address(value)
    return None


def peer_address(scope: Scope) -> IpAddress | None:
    """The TCP peer uvicorn recorded in the scope (None over a Unix socket)."""
    client: Any = scope.get("client")
    if not client:
        return None
    return parse_address(str(client[0]))


def client_address(scope: Scope) -> str:
    """The address a request or WebSocket comes from, as `ResolveClientAddress` resolved it;
    without that middleware (an app under test), the TCP peer."""
    resolved = scope.get(CLIENT_ADDRESS_KEY)
    if isinstance(resolved, str):
        return resolved
    peer = peer_address(scope)
    return UNKNOWN_ADDRESS if peer is None else str(peer)


class ResolveClientAddress:
    """Pure ASGI: stores the client's address in every HTTP and WebSocket scope."""

    def __init__(self, app: ASGIApp, *, proxies: TrustedProxies) -> None:
        self.app = app
        self.proxies = proxies

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            scope[CLIENT_ADDRESS_KEY] = self.proxies.resolve(scope)
        await self.app(scope, receive, send)
