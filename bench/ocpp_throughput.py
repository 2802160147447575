"""OCPP 1.6J throughput and memory of evbilling, beside the `ocpp` library's own server.

Starts `evbilling serve` on a fresh database (SQLite by default, or a new PostgreSQL
database it creates and drops) with N registered stations and drives it with simulated
stations from separate client processes (real WebSockets, HTTP Basic auth). Every answer
counted is a CALLRESULT the server sent only after committing the message. Prints one JSON
object. The parts are in bench/ocpp_load/.

    # open loop: a fixed total offered rate (evbilling alone)
    .venv/bin/python bench/ocpp_throughput.py --stations 1000 --rate 2000 --seconds 30
    # closed loop: capacity, evbilling and the library's server in the same run, as a ratio
    .venv/bin/python bench/ocpp_throughput.py --closed-loop --stations 1000 --rounds 3
    .venv/bin/python bench/ocpp_throughput.py --closed-loop \\
        --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/evbilling_bench
    # memory per idle, booted connection (both servers)
    .venv/bin/python bench/ocpp_throughput.py --idle-stations 10000
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.ocpp_load.runs import closed_loop_run, idle_run, open_loop_run  # noqa: E402
from bench.ocpp_load.servers import raise_open_files_limit  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--database-url",
        default="sqlite",
        help="sqlite (a temporary file) or a postgresql+asyncpg:// URL; on PostgreSQL a new "
        "database named after the URL's, with a random suffix, is created and dropped",
    )
    parser.add_argument("--stations", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=30.0, help="measured window")
    parser.add_argument("--rate", type=float, default=2000.0, help="open loop: msg/s in total")
    parser.add_argument(
        "--closed-loop",
        action="store_true",
        help="each station sends its next message when answered; evbilling and the library",
    )
    parser.add_argument("--rounds", type=int, default=2, help="closed loop: pairs of windows")
    parser.add_argument(
        "--idle-stations",
        type=int,
        default=0,
        help="instead of a load, memory with this many connected, booted, idle stations",
    )
    parser.add_argument("--clients", type=int, default=0, help="client processes (0: auto)")
    parser.add_argument(
        "--connect-seconds",
        type=float,
        default=900.0,
        help="time allowed for all stations to connect (argon2 per login)",
    )
    parser.add_argument(
        "--profile-to", default=None, help="run evbilling under cProfile, stats to this file"
    )
    args = parser.parse_args()
    limit = raise_open_files_limit()
    if args.idle_stations:
        clients = args.clients or max(2, -(-args.idle_stations // 2500))
        result = idle_run(
            database_url=args.database_url,
            stations=args.idle_stations,
            clients=clients,
            connect_timeout_s=args.connect_seconds,
        )
    elif args.closed_loop:
        clients = args.clients or 2
        result = closed_loop_run(
            database_url=args.database_url,
            stations=args.stations,
            seconds=args.seconds,
            clients=clients,
            rounds=args.rounds,
            connect_timeout_s=args.connect_seconds,
            profile_to=args.profile_to,
        )
    else:
        clients = args.clients or 2
        result = open_loop_run(
            database_url=args.database_url,
            stations=args.stations,
            rate=args.rate,
            seconds=args.seconds,
            clients=clients,
            connect_timeout_s=args.connect_seconds,
            profile_to=args.profile_to,
        )
    print(json.dumps({**result, "client_processes": clients, "open_files_limit": limit}))


if __name__ == "__main__":
    main()
