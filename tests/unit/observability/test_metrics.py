"""The dispatcher's counters: each attempt counted once, in its agency's and outcome's series."""

from __future__ import annotations

from gateway.observability.metrics import PrometheusMetrics, StoreSnapshot


def exposed(metrics: PrometheusMetrics) -> set[str]:
    text = metrics.exposition(StoreSnapshot({}, {})).decode()
    wanted = ("lianxin_deliveries_total", "lianxin_retries_total", "lianxin_delivery_seconds_count")
    return {line for line in text.splitlines() if line.startswith(wanted)}


def test_attempts_are_counted_per_agency_and_outcome_and_retries_apart() -> None:
    metrics = PrometheusMetrics(["tax", "city"])
    for _ in range(3):
        metrics.attempt("tax", "delivered", 0.01)
    metrics.attempt("tax", "retry", 0.2)
    metrics.attempt("city", "retry", 0.3)
    metrics.attempt("city", "dead", -1.0)  # a clock step back is observed as 0
    assert exposed(metrics) == {
        'lianxin_deliveries_total{agency="tax",outcome="delivered"} 3.0',
        'lianxin_deliveries_total{agency="tax",outcome="retry"} 1.0',
        'lianxin_deliveries_total{agency="city",outcome="retry"} 1.0',
        'lianxin_deliveries_total{agency="city",outcome="dead"} 1.0',
        'lianxin_retries_total{agency="tax"} 1.0',
        'lianxin_retries_total{agency="city"} 1.0',
        'lianxin_delivery_seconds_count{agency="tax"} 4.0',
        'lianxin_delivery_seconds_count{agency="city"} 2.0',
    }
