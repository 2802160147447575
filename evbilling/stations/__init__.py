"""Stations: charging stations (OCPP charge points) with their EVSEs and Basic-auth passwords.

`domain` (StationIdentity, EvseUid, PowerType, ConnectorStandard, limits), `service`
(register, read, move, rotate the password; `find_station` by id or identity), `evse_service`
(EVSEs), `repository`, `schemas`, `endpoints` (router), `cli` (`evbilling station|evse`).
Operator commands to a connected station are the `commands` slice.
"""
