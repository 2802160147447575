"""Tariffs: OCPI 2.2.1 Tariff documents, versioned, per operator.

`domain` (the OCPI model: parse, export, exact JSON), `price_text` (a tariff in words),
`service` (create, read, version, make default; `check_tariff` for objects that refer to
one), `repository`, `schemas`, `endpoints` (router), `cli` (`evbilling tariff`).
"""
