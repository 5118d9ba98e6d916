"""The demo simulator's series for one topology, as a scrape would read them."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from demo.faults import FaultTable
from demo.simulator import Simulator
from demo.topologies import select

MINUTE = 60.0


def scrape(topology: str, *faults: str, seconds: float = MINUTE) -> list[Sample]:
    """Every sample of `topology` after `seconds` of simulated traffic with `faults` set
    (mesh_fault's specs, e.g. "web:voting=0.3:14")."""
    mesh = select(topology)
    table = FaultTable(mesh)
    for spec in faults:
        table.set(spec)
    sim = Simulator(mesh, table, seed=7)
    sim.advance(seconds)
    text = sim.store.render().decode()
    return [s for f in text_string_to_metric_families(text) for s in f.samples]
