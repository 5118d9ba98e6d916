"""Meshlens's graph engine: Prometheus samples in, a NetworkX graph and Kiali-style JSON out.

Nothing here imports Django, Celery or Channels. The data flow reads top to bottom:
prometheus.py (queries) -> sources/<dialect>/ (rows -> traffic maps, behind
sources/dialect.py) -> build.py (one graph)
-> health.py (status) -> cytoscape.py (JSON elements).
"""
