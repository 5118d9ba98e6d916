"""Test infrastructure: real Prometheus and Redis processes on free loopback ports.

- `ports.free_port()`: a free TCP port on 127.0.0.1.
- `prometheus.write_openmetrics()`: deterministic counter series as OpenMetrics text.
- `prometheus.PrometheusServer` / `PrometheusPool`: a Prometheus on a backfilled TSDB.
- `redis.RedisServer`: a throwaway redis-server.

The fixtures that use them live in tests/conftest.py.
"""
