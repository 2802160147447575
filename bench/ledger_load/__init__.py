"""The parts of bench/ledger.py: shared transfers and tallies, the SQLite rounds."""
