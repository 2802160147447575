"""evbilling: billing and payments for EV charging. `evbilling.main` builds the server,
`evbilling.cli` the command line; each subpackage is one domain slice (docs/architecture.md)."""
