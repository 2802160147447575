"""Locations: the operator's sites, each with the time zone its stations' charges are rated
in and optionally a tariff.

`domain` (CountryCode, TimeZone), `service` (create, read, list, update; `check_location` for
stations), `repository`, `schemas`, `endpoints` (router), `cli` (`evbilling location`).
"""
