"""Database plumbing: engines (SQLite inline, PostgreSQL), column types, migrations runner,
group commit, `RepositoryBase` with offset and keyset pages, and the partial-update path."""
