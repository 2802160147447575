"""OCPP 1.6J load against evbilling and, as the peer, the `ocpp` library's own server.

`bench/ocpp_throughput.py` is the command line; this package holds its parts: the fresh
database and its stations (database), the two servers (servers, peer), the simulated
stations in their client processes (stations) and the runs that report figures (runs).
"""
