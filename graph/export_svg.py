"""SVG drawn by Graphviz: the dot export piped through the `dot` binary (Debian package
`graphviz`), with a time limit, since a layout of thousands of nodes can take minutes."""

from __future__ import annotations

import shutil
import subprocess

from graph.export import Graph
from graph.export_text import dot

# How long `dot -Tsvg` may take. Bookinfo takes a tenth of a second; a mesh of thousands of
# workloads is past any layout a reader could use.
GRAPHVIZ_TIMEOUT_S = 30.0


class GraphvizError(RuntimeError):
    """Graphviz is not installed, failed, or took too long; the message says which."""


def svg(graph: Graph, binary: str = "dot") -> bytes:
    timeout = GRAPHVIZ_TIMEOUT_S
    path = shutil.which(binary)
    if path is None:
        raise GraphvizError(f"format=svg needs Graphviz's {binary!r} program, which is not "
                            "installed here (Debian package graphviz); format=dot gives the "
                            "same graph to draw elsewhere")
    try:
        done = subprocess.run([path, "-Tsvg"], input=dot(graph), capture_output=True,
                              timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise GraphvizError(f"Graphviz did not draw the graph within {timeout:g} s "
                            f"({len(graph.nodes)} nodes); ask for fewer namespaces, or take "
                            "format=dot and draw it elsewhere") from None
    if done.returncode != 0:
        detail = done.stderr.decode(errors="replace").strip().splitlines()[-1:] or ["no message"]
        raise GraphvizError(f"Graphviz failed (exit {done.returncode}): {detail[0][:200]}")
    return done.stdout
