"""A mesh simulator that serves Istio's standard metrics for Bookinfo and Online Boutique.

Prometheus scrapes it like any target; faults can be injected while it runs. It does
not import Django: `python -m demo --topology bookinfo,boutique --port 9101`.
"""
