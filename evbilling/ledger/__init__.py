"""The double-entry ledger: accounts, balanced append-only entries, two-phase holds,
balances as sums of lines (docs/ledger.md).

`domain` (AccountKind, AccountRef, Line, build_entry, results), `errors`, `service`
(post_entry, reverse_entry, open_pending / post_pending / void_pending, balances),
`repository` (all SQL), `schemas`, `endpoints` (`create_router`), `cli` (`evbilling ledger`).
"""
