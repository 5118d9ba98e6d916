"""The Linkerd telemetry dialect: Linkerd 2's proxy metrics (response_total,
response_latency_ms, tcp_read_bytes_total, tcp_write_bytes_total), read as a service graph.
`dialect.LINKERD` is what the engine is given; the modules beside it are its queries
(queries.py), the rows' labels (labels.py), how rows name nodes (nodes.py), how rows become
traffic (traffic.py) and its response-time appender (response_time.py).
"""
