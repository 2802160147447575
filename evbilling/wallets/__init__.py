"""Prepaid wallets: balances that never go below zero, reservations around sessions."""
