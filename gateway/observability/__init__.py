"""What the gateway shows of itself: Prometheus metrics, masked JSON logs, OpenTelemetry traces."""
