"""Use cases: async, keyword-only functions that flush but never commit."""
