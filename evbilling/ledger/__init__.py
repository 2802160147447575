"""The double-entry ledger: accounts, balanced append-only entries, two-phase holds,
balances as sums of lines (docs/ledger.md).

`domain` (AccountKind, AccountRef, Line, build_entry, results), `errors`, `service`
(post_entry, reverse_entry, balances; re-exports `holds`: open_pending / post_pending /
void_pending), `booking`, the SQL in `repository`, `hold_repository`, `read_repository` and
`sql`, `schemas`, `endpoints` (`create_router`), `cli` (`evbilling ledger`).
"""
