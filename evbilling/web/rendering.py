"""Templates of the guest's pages (jinja2, autoescaped) and the headers every page carries."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

HERE = Path(__file__).parent
STATIC_DIR = HERE / "static"
STATIC_URL = "/pay/static"

_ENV = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)

# The page token is in the URL: never sent on as a Referer (to the provider's page, say).
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
}


def page(template: str, *, status_code: int = 200, **values: Any) -> HTMLResponse:
    html = _ENV.get_template(template).render(static=STATIC_URL, **values)
    return HTMLResponse(html, status_code=status_code, headers=PAGE_HEADERS)


def message_page(title: str, text: str, *, status_code: int) -> HTMLResponse:
    return page("message.html", status_code=status_code, title=title, text=text)
