"""The sandbox's hosted card-entry page: plain HTML, no script, no external resource, styles
inline and readable on a phone. The form posts back to the sandbox itself; nothing typed in
it is ever echoed back, stored or logged except brand, last 4 and expiry."""

from __future__ import annotations

from html import escape
from urllib.parse import parse_qs

_STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;background:#f4f5f7;
color:#1d2430}
main{max-width:26rem;margin:0 auto;padding:1.5rem 1rem}
h1{font-size:1.3rem;margin:0 0 .25rem}
p.note{color:#5b6472;font-size:.9rem;margin:0 0 1.25rem}
form{background:#fff;border-radius:.75rem;padding:1.25rem;box-shadow:0 1px 3px rgba(0,0,0,.12)}
label{display:block;font-weight:600;font-size:.9rem;margin:.9rem 0 .3rem}
input{box-sizing:border-box;width:100%;font-size:1.1rem;padding:.7rem;border:1px solid #c4c9d2;
border-radius:.5rem}
.row{display:flex;gap:.75rem}.row>div{flex:1}
button{margin-top:1.25rem;width:100%;font-size:1.1rem;padding:.8rem;border:0;border-radius:.5rem;
background:#1f6feb;color:#fff;font-weight:600}
.error{background:#fdecea;color:#8a1c13;border-radius:.5rem;padding:.7rem;margin-bottom:.5rem}
"""


def _page(title: str, body: str) -> str:
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="referrer" content="no-referrer">'
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body><main>{body}</main></body></html>"
    )


def card_form(*, action: str, error: str | None = None) -> str:
    message = f'<div class="error" role="alert">{escape(error)}</div>' if error else ""
    return _page(
        "Save a card (sandbox)",
        "<h1>Save a card</h1>"
        '<p class="note">Sandbox provider: only test cards are accepted. The card is '
        "saved as a token; evbilling never sees its number.</p>"
        f'<form method="post" action="{escape(action)}" autocomplete="off">{message}'
        '<label for="number">Card number</label>'
        '<input id="number" name="number" inputmode="numeric" autocomplete="cc-number" '
        'placeholder="4242 4242 4242 4242" required maxlength="23">'
        '<div class="row"><div><label for="expiry">Expiry (MM/YY)</label>'
        '<input id="expiry" name="expiry" inputmode="numeric" autocomplete="cc-exp" '
        'placeholder="12/34" required maxlength="7"></div>'
        '<div><label for="cvc">CVC</label>'
        '<input id="cvc" name="cvc" inputmode="numeric" autocomplete="cc-csc" '
        'placeholder="123" required maxlength="4"></div></div>'
        '<button type="submit">Save card</button></form>',
    )


def done_page() -> str:
    return _page(
        "Card saved (sandbox)",
        '<h1>Card saved</h1><p class="note">This card set-up is complete.</p>',
    )


def parse_form(body: bytes) -> dict[str, str]:
    """application/x-www-form-urlencoded -> first value per field (bounded)."""
    fields = parse_qs(body[:4096].decode("utf-8", errors="replace"), max_num_fields=10)
    return {name: values[0].strip() for name, values in fields.items() if values}
