"""Postpaid accounts for businesses and fleets (docs/postpaid.md): accounts and their drivers
and tokens (`service`), the credit limit at authorization (`credit`: check_credit,
open_exposure, attach_exposure), the sale of a session to the account's receivable
(`accrual.accrue_session`), monthly statements (`statements.build_statement`) and payments
received (`received.mark_bank_transfer`; by card: payments/postpaid_charges.py)."""
