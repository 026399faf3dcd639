"""Monitoring for served models: what each runtime exports, the PromQL over it, the
PrometheusRule groups and Grafana dashboards rendered from it, and the queries the
promotion gates run against Prometheus' HTTP API."""
