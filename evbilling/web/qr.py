"""The per-EVSE QR code a guest scans to pay (segno): it encodes the EVSE's pay page URL."""

from __future__ import annotations

import io

import segno


def pay_url(*, public_base_url: str, evse_uid: str) -> str:
    return f"{public_base_url.rstrip('/')}/pay/{evse_uid}"


def qr_png(url: str, *, scale: int = 8) -> bytes:
    out = io.BytesIO()
    segno.make(url, error="m").save(out, kind="png", scale=scale, border=4)
    return out.getvalue()


def qr_svg(url: str, *, scale: int = 8) -> bytes:
    out = io.BytesIO()
    segno.make(url, error="m").save(out, kind="svg", scale=scale, border=4, xmldecl=True)
    return out.getvalue()
