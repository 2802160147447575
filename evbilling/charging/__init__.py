"""Charging sessions: what stations report (`station_events`), authorize/start/stop
(`service`), meter values (`meter_service`), what a session is billed from (`plausibility`,
`stop_evidence`; docs/metering.md), running costs (`costs`), pricing with the rating
engine (`pricing`, `metering`), re-rating (`rerate`) and the operators' read side (`sessions`,
`schemas`, `endpoints`, `cli`)."""
