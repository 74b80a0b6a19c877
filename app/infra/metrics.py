"""Prometheus metrics: requests and latency by route template, in-flight, database pool."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

REGISTRY = CollectorRegistry(auto_describe=True)

REQUESTS = Counter(
    "minishop_http_requests_total",
    "HTTP requests by method, route template and status.",
    ["method", "route", "status"],
    registry=REGISTRY,
)
LATENCY = Histogram(
    "minishop_http_request_duration_seconds",
    "HTTP request latency by method and route template.",
    ["method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
    registry=REGISTRY,
)
IN_FLIGHT = Gauge(
    "minishop_http_requests_in_flight", "Requests being served now.", registry=REGISTRY
)


#: The labelled children by (method, route, status): `labels()` validates and looks them up
#: under a lock each time, several times the cost of the update itself.
_children: dict[tuple[str, str, int], tuple[Any, Any]] = {}


def observe(method: str, route: str, status: int, seconds: float) -> None:
    key = (method, route, status)
    children = _children.get(key)
    if children is None:
        children = (REQUESTS.labels(method, route, str(status)), LATENCY.labels(method, route))
        _children[key] = children
    children[0].inc()
    children[1].observe(seconds)


class PoolCollector(Collector):
    """Reads the SQLAlchemy pool at scrape time."""

    def __init__(self, pool: Any) -> None:
        self.pool = pool

    def collect(self) -> Iterator[GaugeMetricFamily]:
        for name, attr, doc in (
            ("minishop_db_pool_size", "size", "Connections the pool keeps."),
            ("minishop_db_pool_checked_out", "checkedout", "Connections in use."),
            ("minishop_db_pool_overflow", "overflow", "Connections beyond the pool size."),
            ("minishop_db_pool_checked_in", "checkedin", "Idle connections."),
        ):
            fn = getattr(self.pool, attr, None)
            if callable(fn):
                yield GaugeMetricFamily(name, doc, value=float(fn()))


_pool_collector: PoolCollector | None = None


def watch_pool(pool: Any) -> None:
    global _pool_collector
    if _pool_collector is not None:
        REGISTRY.unregister(_pool_collector)
    _pool_collector = PoolCollector(pool)
    REGISTRY.register(_pool_collector)
