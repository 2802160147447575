"""Server-rendered pages for people without an API client: /pay/{evse} (ad-hoc payment)."""
