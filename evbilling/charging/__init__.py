"""Charging sessions: what stations report (`station_events`), authorize/start/stop
(`service`), how every session ends and is priced once (`ending`: completed, superseded,
abandoned, closed; failed pricing retried), meter values (`meter_service`), what a session is
billed from (`plausibility`, `stop_evidence`; docs/metering.md), running costs (`costs`),
pricing with the rating engine (`pricing`, `metering`), re-rating (`rerate`), background jobs
(`jobs`) and the operators' read side (`sessions`, `schemas`, `endpoints`, `cli`)."""
