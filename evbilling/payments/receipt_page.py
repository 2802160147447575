"""The public receipt page `/receipts/{token}`: a finished session's receipt as plain HTML,
for anyone holding its link (the app shows it, the ad-hoc payer's page links to it). No
account, no script; an unknown or forged token is a plain 404 page."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse
from jinja2 import Environment, select_autoescape

from evbilling.infra.http.deps import Context, Db
from evbilling.kit import NotFound
from evbilling.payments import receipts
from evbilling.tariffs.price_text import amount_text

router = APIRouter()

_ENVIRONMENT = Environment(autoescape=select_autoescape(default=True, default_for_string=True))
_ENVIRONMENT.filters["money"] = lambda money: (
    f"{amount_text(money.amount, money.currency)} {money.currency}"
)
_PAGE = _ENVIRONMENT.from_string(
    """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>Receipt {{ r.session_id }}</title>
<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:1rem auto;padding:0 1rem}
table{width:100%;border-collapse:collapse}td{padding:.25rem 0}td.n{text-align:right}
tr.t td{border-top:1px solid #999;font-weight:bold}</style></head>
<body><h1>Receipt</h1>
<p>Session {{ r.session_id }}{% if r.location_name %} at {{ r.location_name }}{% endif %},
station {{ r.station_identity }}{% if r.evse_uid %}, EVSE {{ r.evse_uid }}{% endif %}
(connector {{ r.connector_id }})</p>
<p>{{ r.started_at.strftime("%Y-%m-%d %H:%M UTC") }}{% if r.stopped_at %} &ndash;
{{ r.stopped_at.strftime("%Y-%m-%d %H:%M UTC") }}{% endif %},
{{ "%.3f"|format(r.energy_wh / 1000) }} kWh</p>
<table>
{% for line in r.lines %}<tr><td>{{ line.label }}{% if line.unit %} ({{ line.quantity }}
{{ line.unit }}){% endif %}</td><td class="n">{{ line.amount_incl_vat|money }}</td></tr>
{% endfor %}
<tr class="t"><td>Total incl. VAT</td><td class="n">{{ r.total|money }}</td></tr>
{% for portion in r.vat %}<tr><td>VAT {{ portion.rate }} % on {{ portion.net|money }}</td>
<td class="n">{{ portion.vat|money }}</td></tr>{% endfor %}
</table>
<p>Paid by {{ r.paid_by }}{% if r.outstanding %}; {{ r.outstanding|money }} still
owed{% endif %}.</p>
</body></html>
"""
)
_NOT_FOUND = "<!doctype html><title>Receipt not found</title><p>No such receipt.</p>"


@router.get("/{token}", response_class=HTMLResponse, include_in_schema=False)
async def receipt_page(token: str, context: Context, db: Db) -> HTMLResponse:
    session_id = receipts.session_of_token(hasher=context.api_keys, token=token[:200])
    if session_id is None:
        return HTMLResponse(_NOT_FOUND, status_code=404)
    try:
        receipt = await receipts.get_receipt(db=db, session_id=session_id)
    except NotFound:
        return HTMLResponse(_NOT_FOUND, status_code=404)
    return HTMLResponse(
        _PAGE.render(r=receipt),
        headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
    )
