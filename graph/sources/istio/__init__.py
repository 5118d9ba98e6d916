"""The Istio telemetry dialect: istio_requests_total and its siblings, read as Kiali reads
them. `dialect.ISTIO` is what the engine is given; the modules beside it are its queries
(queries.py, node.py), how rows become traffic (traffic.py, labels.py) and its appenders.
"""
