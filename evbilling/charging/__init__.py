"""Charging sessions: what stations report (`station_events`), authorize/start/stop
(`service`), how every session ends and is priced once (`ending`: completed, superseded,
abandoned, closed; failed pricing retried), meter values (`meter_service`), running costs
(`costs`), pricing with the rating engine (`pricing`, `metering`), re-rating (`rerate`) and
the operators' read side (`sessions`, `schemas`, `endpoints`, `cli`)."""
