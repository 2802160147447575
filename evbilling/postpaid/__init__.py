"""Postpaid accounts for businesses and fleets: accrual, credit limits, statements."""
