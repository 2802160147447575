"""Drivers: the people who charge, their groups (fleets) and their tokens (OCPP idTags).

`domain` (IdTag, Email, TokenStatus, TokenType), `service` (drivers, groups, tokens),
`repository`, `schemas`, `endpoints` (router), `cli` (`evbilling driver|group|token`).
Driver accounts of the app: `accounts` (sign-up, verification, passwords, closure),
`account_domain` (the rules), `account_repository`.
"""
