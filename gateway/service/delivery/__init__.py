"""Delivery: the outbox, the dispatcher and the outcomes it records, retry, the circuit
breaker, the envelopes sent."""
