"""The client's address: the TCP peer, unless that peer is a trusted proxy naming the client."""

from __future__ import annotations

from typing import Any

import pytest

from evbilling.infra.http import client_address
from evbilling.infra.http.addresses import (
    CLIENT_ADDRESS_KEY,
    TrustedProxies,
    parse_address,
    parse_networks,
)

PROXY = "10.0.0.5"
BEHIND_PROXIES = TrustedProxies.parse(["10.0.0.0/24", "2001:db8:1::/48"])
BY_FORWARDED = TrustedProxies.parse(["10.0.0.0/24"], header="forwarded")


def scope(peer: str | None, *headers: tuple[str, str]) -> dict[str, Any]:
    return {
        "type": "http",
        "client": (peer, 50_000) if peer is not None else None,
        "headers": [(name.lower().encode(), value.encode("latin-1")) for name, value in headers],
    }


class TestWithoutTrustedProxies:
    def test_forwarding_headers_from_any_peer_are_ignored(self) -> None:
        forged = scope(
            "127.0.0.1",
            ("X-Forwarded-For", "203.0.113.7"),
            ("Forwarded", "for=203.0.113.8"),
        )

        assert TrustedProxies().resolve(forged) == "127.0.0.1"

    def test_a_peer_outside_the_trusted_networks_is_the_client_whatever_it_claims(self) -> None:
        forged = scope("198.51.100.9", ("X-Forwarded-For", "10.0.0.1, 203.0.113.7"))

        assert BEHIND_PROXIES.resolve(forged) == "198.51.100.9"

    def test_ipv4_mapped_peers_read_as_ipv4(self) -> None:
        assert TrustedProxies().resolve(scope("::ffff:192.0.2.1")) == "192.0.2.1"

    def test_a_scope_without_a_peer_is_unknown(self) -> None:
        assert TrustedProxies().resolve(scope(None)) == "unknown"


class TestXForwardedFor:
    def test_the_right_most_hop_the_trusted_proxy_appended_is_the_client(self) -> None:
        # The client forged the first entry; the proxy appended what it saw.
        request = scope(PROXY, ("X-Forwarded-For", "1.2.3.4, 203.0.113.7"))

        assert BEHIND_PROXIES.resolve(request) == "203.0.113.7"

    def test_trusted_hops_are_skipped_from_the_right(self) -> None:
        request = scope(PROXY, ("X-Forwarded-For", "6.6.6.6, 203.0.113.7, 10.0.0.9, 10.0.0.8"))

        assert BEHIND_PROXIES.resolve(request) == "203.0.113.7"

    def test_several_header_lines_are_one_list_in_order(self) -> None:
        request = scope(
            PROXY,
            ("X-Forwarded-For", "6.6.6.6"),
            ("X-Forwarded-For", "203.0.113.7, 10.0.0.9"),
        )

        assert BEHIND_PROXIES.resolve(request) == "203.0.113.7"

    def test_ports_brackets_and_ipv6_are_understood(self) -> None:
        with_port = scope(PROXY, ("X-Forwarded-For", "203.0.113.7:4711"))
        bracketed = scope(PROXY, ("X-Forwarded-For", "[2001:db8:cafe::17]:4711"))
        bare_v6 = scope("2001:db8:1::2", ("X-Forwarded-For", "2001:db8:cafe::17"))

        assert BEHIND_PROXIES.resolve(with_port) == "203.0.113.7"
        assert BEHIND_PROXIES.resolve(bracketed) == "2001:db8:cafe::17"
        assert BEHIND_PROXIES.resolve(bare_v6) == "2001:db8:cafe::17"

    def test_a_hop_that_is_no_address_stops_at_the_nearest_known_one(self) -> None:
        garbage = scope(PROXY, ("X-Forwarded-For", "203.0.113.7, not-an-ip, 10.0.0.9"))
        empty = scope(PROXY, ("X-Forwarded-For", ""))

        assert BEHIND_PROXIES.resolve(garbage) == "10.0.0.9"
        assert BEHIND_PROXIES.resolve(empty) == PROXY

    def test_only_trusted_hops_leave_the_farthest_of_them(self) -> None:
        request = scope(PROXY, ("X-Forwarded-For", "10.0.0.7, 10.0.0.9"))

        assert BEHIND_PROXIES.resolve(request) == "10.0.0.7"

    def test_the_forwarded_header_is_not_read_when_proxies_write_x_forwarded_for(self) -> None:
        # The proxy maintains X-Forwarded-For and passes the client's Forwarded through.
        request = scope(PROXY, ("Forwarded", "for=6.6.6.6"), ("X-Forwarded-For", "203.0.113.7"))

        assert BEHIND_PROXIES.resolve(request) == "203.0.113.7"


class TestForwarded:
    def test_the_for_parameter_of_the_right_most_untrusted_element_is_the_client(self) -> None:
        request = scope(
            PROXY,
            ("Forwarded", 'for=6.6.6.6, for="203.0.113.7:1234";proto=https;by=10.0.0.5'),
        )

        assert BY_FORWARDED.resolve(request) == "203.0.113.7"

    def test_ipv6_nodes_are_quoted_and_bracketed(self) -> None:
        request = scope(PROXY, ("Forwarded", 'For="[2001:db8:cafe::17]:4711"'))

        assert BY_FORWARDED.resolve(request) == "2001:db8:cafe::17"

    def test_unknown_and_obfuscated_nodes_are_no_address(self) -> None:
        unknown = scope(PROXY, ("Forwarded", "for=203.0.113.7, for=unknown"))
        hidden = scope(PROXY, ("Forwarded", "for=_hidden, for=10.0.0.9"))

        assert BY_FORWARDED.resolve(unknown) == PROXY
        assert BY_FORWARDED.resolve(hidden) == "10.0.0.9"

    def test_a_quote_the_client_leaves_open_does_not_swallow_the_proxys_hop(self) -> None:
        request = scope(PROXY, ("Forwarded", 'for="6.6.6.6, for=203.0.113.7'))

        assert BY_FORWARDED.resolve(request) == "203.0.113.7"

    def test_x_forwarded_for_is_not_read_when_proxies_write_forwarded(self) -> None:
        request = scope(PROXY, ("X-Forwarded-For", "6.6.6.6"), ("Forwarded", "for=203.0.113.7"))

        assert BY_FORWARDED.resolve(request) == "203.0.113.7"


class TestClientAddress:
    def test_reads_what_the_edge_resolved(self) -> None:
        resolved = scope("10.0.0.5") | {CLIENT_ADDRESS_KEY: "203.0.113.7"}

        assert client_address(resolved) == "203.0.113.7"

    def test_without_the_edge_middleware_is_the_peer_and_ignores_headers(self) -> None:
        forged = scope("127.0.0.1", ("X-Forwarded-For", "203.0.113.7"))

        assert client_address(forged) == "127.0.0.1"


class TestParsing:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("192.0.2.1", "192.0.2.1"),
            (" 192.0.2.1:80 ", "192.0.2.1"),
            ('"[::1]:8080"', "::1"),
            ("::ffff:192.0.2.1", "192.0.2.1"),
            ("unknown", None),
            ("[::1", None),
            ("", None),
            ("999.1.1.1", None),
        ],
    )
    def test_addresses_as_headers_write_them(self, text: str, expected: str | None) -> None:
        parsed = parse_address(text)

        assert (str(parsed) if parsed is not None else None) == expected

    def test_networks_accept_cidrs_and_single_addresses_and_name_the_bad_one(self) -> None:
        assert [str(n) for n in parse_networks(["10.0.0.0/8", "192.0.2.7", "::1"])] == [
            "10.0.0.0/8",
            "192.0.2.7/32",
            "::1/128",
        ]
        with pytest.raises(ValueError, match=r"'10\.0\.0\.0/33'"):
            parse_networks(["10.0.0.0/33"])
