"""The trace-derived dialect: the service-graph metrics that Grafana Tempo's
metrics-generator and the OpenTelemetry Collector's servicegraph connector derive from
spans (traces_service_graph_*)."""
