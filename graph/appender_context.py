"""What an appender is called with, each time: the request's options and the mesh's settings.

Appenders keep nothing between their queries() and their apply(): a build hands both calls
the same context, so one appender object may serve any number of builds, in any order.
"""

from __future__ import annotations

from dataclasses import dataclass

from graph.options import GraphOptions, MeshConfig


@dataclass(frozen=True)
class AppenderContext:
    options: GraphOptions
    mesh: MeshConfig
