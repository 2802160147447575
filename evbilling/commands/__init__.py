"""Operator commands to stations (remote start/stop, reset, unlock, availability,
configuration, trigger message, clear cache): `service` addresses them, the API and CLI edges
send them through the station link."""
