"""The ports the service layer depends on; adapters in gateway/store, connectors/ and the
crypto and observability modules fill them. Service code is plain Python over these
Protocols: it never imports SQLAlchemy, httpx, zeep or paho (the contracts in
pyproject.toml check it).

- `store`: the repositories of one unit of work (orders, the outbox, the audit log, …),
  the store that runs units of work, and `AuditChain` (the service links audit entries).
- `queries`: what the console, health views and replay read.
- `transport`: connectors, listeners, pollers and the handlers they are given.
- `crypto`: data at rest, field encryption, signing keys.
- `calendar`: working days.  `telemetry`: tracing and metrics.

Records the ports carry (work orders, handoffs, audit events) are in `gateway.domain`.
"""
