"""The two servers under load, each in a process of its own: evbilling and the peer."""

from __future__ import annotations

import json
import os
import resource
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def raise_open_files_limit() -> int:
    """Raise this process's soft RLIMIT_NOFILE to its hard limit (children inherit it)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        target = hard if hard != resource.RLIM_INFINITY else 1 << 20
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (ValueError, OSError):
            pass
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(slots=True)
class Server:
    name: str  # "evbilling" or "library"
    process: subprocess.Popen[bytes]
    port: int

    def rss_mib(self) -> float:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return 0.0

    def connected(self) -> int:
        url = f"http://127.0.0.1:{self.port}/healthz"
        with urllib.request.urlopen(url, timeout=10) as response:
            count: int = json.load(response)["connected_stations"]
            return count

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)  # graceful: a profiler writes its file
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _started(name: str, command: list[str], env: dict[str, str]) -> Server:
    port = free_port()
    process = subprocess.Popen([*command, "--port", str(port)], env=env, cwd=ROOT)
    server = Server(name=name, process=process, port=port)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} server exited with {process.returncode}")
        try:
            server.connected()
            return server
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"{name} server did not start")


def start_evbilling(url: str, *, profile_to: str | None = None) -> Server:
    """`evbilling serve` on `url`; with `profile_to`, under cProfile (stats written at exit)."""
    env = dict(os.environ, EVBILLING_DATABASE_URL=url, EVBILLING_LOG_LEVEL="WARNING")
    # Every simulated station connects from 127.0.0.1: lift the per-address connection cap.
    env["EVBILLING_MAX_CONNECTIONS_PER_ADDRESS"] = str(1_000_000)
    # PostgreSQL has no file beside it for a generated API-key secret: the server needs one.
    env.setdefault("EVBILLING_API_KEY_SECRET", secrets.token_urlsafe(32))
    profiler = ["-m", "cProfile", "-o", profile_to] if profile_to else []
    command = [sys.executable, *profiler, "-m", "evbilling", "serve", "--host", "127.0.0.1"]
    return _started("evbilling", command, env)


def start_library() -> Server:
    return _started("library", [sys.executable, "-m", "bench.ocpp_load.peer"], dict(os.environ))
