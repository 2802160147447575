"""The count of connections per address, and the settings of the HTTP edge."""

from __future__ import annotations

from ipaddress import ip_address

import pytest
from pydantic import ValidationError

from evbilling.config import Settings
from evbilling.infra.http.addresses import ForwardedHeader
from evbilling.infra.http.connections import OpenConnections, address_key
from evbilling.wiring import http_limits, trusted_proxies


class TestOpenConnections:
    def test_refuses_beyond_the_cap_per_address_and_frees_on_release(self) -> None:
        counts = OpenConnections(cap=2)

        assert [counts.acquire("192.0.2.1") for _ in range(3)] == [True, True, False]
        assert counts.acquire("192.0.2.2")
        counts.release("192.0.2.1")
        assert counts.acquire("192.0.2.1")

    def test_keeps_no_entry_for_an_address_without_open_connections(self) -> None:
        counts = OpenConnections(cap=5)
        for number in range(1_000):
            key = f"198.51.100.{number % 250}"
            counts.acquire(key)
            counts.release(key)

        assert len(counts) == 0

    def test_ipv6_addresses_of_one_host_share_its_slash_64(self) -> None:
        one = address_key(ip_address("2001:db8:1:2::1"))
        same_host = address_key(ip_address("2001:db8:1:2:ffff::9"))
        neighbour = address_key(ip_address("2001:db8:1:3::1"))

        assert one == same_host == "2001:db8:1:2::/64"
        assert neighbour != one
        assert address_key(ip_address("192.0.2.1")) == "192.0.2.1"


class TestSettings:
    def test_defaults_fit_many_chargers_behind_one_nat_and_trust_no_proxy(self) -> None:
        settings = Settings()
        limits = http_limits(settings)

        assert limits.max_body_bytes == 1 << 20
        assert limits.max_connections_per_address == 256
        assert trusted_proxies(settings).networks == ()

    def test_trusted_proxies_are_given_comma_separated_or_as_json(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("EVBILLING_TRUSTED_PROXIES", "10.0.0.0/8, 192.0.2.7")
        monkeypatch.setenv("EVBILLING_TRUSTED_PROXY_HEADER", "forwarded")
        listed = trusted_proxies(Settings())
        monkeypatch.setenv("EVBILLING_TRUSTED_PROXIES", '["2001:db8::/32"]')
        as_json = trusted_proxies(Settings())

        assert [str(n) for n in listed.networks] == ["10.0.0.0/8", "192.0.2.7/32"]
        assert listed.header is ForwardedHeader.FORWARDED
        assert [str(n) for n in as_json.networks] == ["2001:db8::/32"]

    def test_a_proxy_that_is_no_network_is_refused_at_start_up(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("EVBILLING_TRUSTED_PROXIES", "10.0.0.0/8,proxy.local")

        with pytest.raises(ValidationError, match=r"proxy\.local"):
            Settings()

    def test_limits_must_be_positive(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("EVBILLING_HTTP_HEADER_TIMEOUT_S", "0")

        with pytest.raises(ValidationError, match="http_header_timeout_s"):
            Settings()
