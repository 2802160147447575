"""The wheel is all a server needs: built from this checkout, installed with the runtime lock
into a fresh virtual environment outside the repository, it migrates a new SQLite database
and serves."""

from __future__ import annotations

import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def _run(*command: str | Path, cwd: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, f"{command}: {done.stdout}\n{done.stderr}"
    return done.stdout


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dist = tmp_path_factory.mktemp("dist")
    _run(BIN / "hatchling", "build", "--target", "wheel", "--directory", dist, cwd=ROOT)
    (built,) = dist.glob("evbilling-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh environment holding the runtime lock and the wheel, nothing from the checkout."""
    venv = tmp_path_factory.mktemp("venv") / "env"
    _run(BIN / "uv", "venv", "--quiet", "--python", sys.executable, venv, cwd=venv.parent)
    python = venv / "bin" / "python"
    lock = ROOT / "requirements" / "runtime.lock"
    _run(BIN / "uv", "pip", "install", "--quiet", "--python", python, "--require-hashes",
         "-r", lock, cwd=venv.parent)  # fmt: skip
    _run(BIN / "uv", "pip", "install", "--quiet", "--python", python, "--no-deps", wheel,
         cwd=venv.parent)  # fmt: skip
    return venv


class TestWheel:
    def test_carries_the_migrations_and_the_alembic_environment(self, wheel: Path) -> None:
        names = set(zipfile.ZipFile(wheel).namelist())

        assert "evbilling/migrations/env.py" in names
        assert "evbilling/migrations/script.py.mako" in names
        assert {name for name in names if name.startswith("evbilling/migrations/versions/0001")}

    def test_carries_the_pay_pages_templates_and_static_files(self, wheel: Path) -> None:
        names = set(zipfile.ZipFile(wheel).namelist())

        assert {
            "evbilling/web/templates/base.html",
            "evbilling/web/templates/evse.html",
            "evbilling/web/templates/live.html",
            "evbilling/web/static/pay.css",
            "evbilling/web/static/pay.js",
        } <= names

    def test_installed_wheel_migrates_a_new_sqlite_database(
        self, installed: Path, tmp_path: Path
    ) -> None:
        database = tmp_path / "fresh.sqlite3"
        env = {"EVBILLING_DATABASE_URL": f"sqlite+aiosqlite:///{database}", "PATH": "/usr/bin"}

        output = _run(installed / "bin" / "evbilling", "db", "upgrade", cwd=tmp_path, env=env)

        assert "head" in output
        with sqlite3.connect(database) as connection:
            tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master")}
        assert {"stations", "charging_sessions", "tariffs", "alembic_version"} <= tables

    def test_installed_wheel_serves(self, installed: Path, tmp_path: Path) -> None:
        database = tmp_path / "served.sqlite3"
        port = _free_port()
        env = {
            "EVBILLING_DATABASE_URL": f"sqlite+aiosqlite:///{database}",
            "EVBILLING_PORT": str(port),
            "EVBILLING_LOG_LEVEL": "WARNING",
            "PATH": "/usr/bin",
        }
        _run(installed / "bin" / "evbilling", "db", "upgrade", cwd=tmp_path, env=env)
        server = subprocess.Popen(
            [str(installed / "bin" / "evbilling"), "serve"],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            body = b""
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and not body:
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz") as answer:
                        body = answer.read()
                except OSError:
                    assert server.poll() is None, server.stderr.read() if server.stderr else ""
                    time.sleep(0.2)

            assert b'"status":"ok"' in body
        finally:
            server.terminate()
            server.wait(timeout=30)
