"""Rating: the pure OCPI 2.2.1 engine (`rating.engine`), tariff resolution for a charge,
price quotes before charging, the line-item breakdown and the `evbilling rate` auditor."""
