"""What every slice stands on: the database (db/), the HTTP edge (http/), structured logs,
secrets, the station-command port, the service context and CLI plumbing. Imports no slice."""
