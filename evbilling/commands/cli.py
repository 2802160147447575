"""Operator commands to stations from the command line, through the running server's API
(the station's connection lives in the server): `evbilling station reset 1 --hard`,
`evbilling session stop 7`."""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer

from evbilling.infra.cli import JsonOption, call_api, emit

TimeoutOption = typer.Option(30.0, "--timeout", help="Seconds to wait for the station.")


def register(*, station_app: typer.Typer, session_app: typer.Typer) -> None:
    """Add the command verbs to the `station` group and `stop` to the `session` group."""
    station_app.command("remote-start")(remote_start)
    station_app.command("remote-stop")(remote_stop)
    station_app.command("reset")(reset)
    station_app.command("unlock")(unlock)
    station_app.command("availability")(availability)
    station_app.command("get-config")(get_config)
    station_app.command("set-config")(set_config)
    station_app.command("trigger")(trigger)
    station_app.command("clear-cache")(clear_cache)
    station_app.command("rotate-password")(rotate_password)
    session_app.command("stop")(session_stop)


def _command(
    *, station_id: int, name: str, body: dict[str, Any] | None, timeout: float, as_json: bool
) -> None:
    data = call_api(
        method="POST", path=f"/stations/{station_id}/commands/{name}", body=body, timeout=timeout
    )
    if as_json:
        sys.stdout.write(json.dumps(data, indent=2) + "\n")
    else:
        sys.stdout.write(
            f"{data['station_identity']} answered {data['action']}: "
            f"{json.dumps(data['response'])}\n"
        )


def remote_start(
    station_id: int,
    id_tag: Annotated[str, typer.Option()],
    connector: Annotated[int | None, typer.Option()] = None,
    timeout: float = TimeoutOption,
    as_json: bool = JsonOption,
) -> None:
    """RemoteStartTransaction."""
    body: dict[str, Any] = {"id_tag": id_tag, "connector_id": connector}
    _command(
        station_id=station_id, name="remote-start", body=body, timeout=timeout, as_json=as_json
    )


def remote_stop(
    station_id: int,
    transaction: Annotated[int, typer.Option()],
    timeout: float = TimeoutOption,
    as_json: bool = JsonOption,
) -> None:
    """RemoteStopTransaction."""
    body = {"transaction_id": transaction}
    _command(station_id=station_id, name="remote-stop", body=body, timeout=timeout, as_json=as_json)


def reset(
    station_id: int,
    hard: Annotated[bool, typer.Option("--hard")] = False,
    timeout: float = TimeoutOption,
    as_json: bool = JsonOption,
) -> None:
    """Reset (soft unless --hard)."""
    body = {"type": "Hard" if hard else "Soft"}
    _command(station_id=station_id, name="reset", body=body, timeout=timeout, as_json=as_json)


def unlock(
    station_id: int,
    connector: Annotated[int, typer.Option()],
    timeout: float = TimeoutOption,
    as_json: bool = JsonOption,
) -> None:
    """UnlockConnector."""
    body = {"connector_id": connector}
    _command(
        station_id=station_id, name="unlock-connector", body=body, timeout=timeout, as_json=as_json
    )


def availability(
    station_id: int,
    type: Annotated[str, typer.Option(help="Operative or Inoperative")],
    connector: Annotated[int, typer.Option()] = 0,
    timeout: float = TimeoutOption,
    as_json: bool = JsonOption,
) -> None:
    """ChangeAvailability (connector 0 = the whole station)."""
    body = {"connector_id": connector, "type": type}
    _command(
        station_id=station_id,
        name="change-availability",
        body=body,
        timeout=timeout,
        as_json=as_json,
    )


def get_config(
    station_id: int,
    key: Annotated[list[str] | None, typer.Option()] = None,
    timeout: float = TimeoutOption,
    as_json: bool = JsonOption,
) -> None:
    """GetConfiguration (all keys unless --key is given)."""
    body = {"keys": key or []}
    _command(
        station_id=station_id, name="get-configuration", body=body, timeout=timeout, as_json=as_json
    )


def set_config(
    station_id: int,
    key: Annotated[str, typer.Option()],
    value: Annotated[str, typer.Option()],
    timeout: float = TimeoutOption,
    as_json: bool = JsonOption,
) -> None:
    """ChangeConfiguration."""
    body = {"key": key, "value": value}
    _command(
        station_id=station_id,
        name="change-configuration",
        body=body,
        timeout=timeout,
        as_json=as_json,
    )


def trigger(
    station_id: int,
    message: Annotated[
        str,
        typer.Option(help="BootNotification, Heartbeat, MeterValues, StatusNotification, ..."),
    ],
    connector: Annotated[int | None, typer.Option()] = None,
    timeout: float = TimeoutOption,
    as_json: bool = JsonOption,
) -> None:
    """TriggerMessage."""
    body: dict[str, Any] = {"requested_message": message, "connector_id": connector}
    _command(
        station_id=station_id, name="trigger-message", body=body, timeout=timeout, as_json=as_json
    )


def clear_cache(
    station_id: int, timeout: float = TimeoutOption, as_json: bool = JsonOption
) -> None:
    """ClearCache."""
    _command(station_id=station_id, name="clear-cache", body=None, timeout=timeout, as_json=as_json)


def session_stop(
    session_id: int, timeout: float = TimeoutOption, as_json: bool = JsonOption
) -> None:
    """Ask the station to stop a running session (RemoteStopTransaction)."""
    data = call_api(method="POST", path=f"/sessions/{session_id}/stop", body=None, timeout=timeout)
    emit(
        data,
        as_json=as_json,
        text=lambda d: f"{d['station_identity']} answered: {json.dumps(d['response'])}",
    )


def rotate_password(
    station_id: int,
    password: Annotated[
        str | None, typer.Option(help="16..20 printable ASCII characters; generated if left out.")
    ] = None,
    timeout: float = TimeoutOption,
    as_json: bool = JsonOption,
) -> None:
    """Send a connected station a new password (ChangeConfiguration AuthorizationKey); prints
    it once. Its current password keeps working until it logs in with the new one."""
    body = {"password": password} if password is not None else None
    data = call_api(
        method="POST", path=f"/stations/{station_id}/password", body=body, timeout=timeout
    )
    emit(
        data,
        as_json=as_json,
        text=lambda d: (
            f"station {d['identity']} answered {d['station_status']}; new password (shown "
            f"once; the current one works until the station logs in with it): {d['password']}"
        ),
    )
