"""Exports written as text here: Graphviz dot and Mermaid flowcharts.

Neither NetworkX nor the standard library writes these with correct escaping of any label
(pydot quotes but leaves Graphviz's own backslash escapes and entities alone), so the two
small writers below do, each to its format's rules.
"""

from __future__ import annotations

import re

from graph.export import HEALTH_COLOURS, Graph, Node

# --- Graphviz dot ----------------------------------------------------------------------------


def dot_string(text: str) -> str:
    """A DOT quoted string that Graphviz draws as `text`, newlines as line breaks.

    Inside quotes the parser knows only \\" and \\\\; Graphviz then reads backslash
    escapes (\\n, \\l, \\N...) and HTML entities (&amp;) in labels. So: & becomes &amp;, a
    backslash is doubled, a quote escaped, a newline written as \\n.

    >>> dot_string('a"b\\\\c&d')
    '"a\\\\"b\\\\\\\\c&amp;d"'
    """
    escaped = (text.replace("&", "&amp;").replace("\\", "\\\\").replace('"', '\\"')
               .replace("\n", "\\n"))
    return f'"{escaped}"'


def dot_attributes(**attrs: str) -> str:
    return "[" + ", ".join(f"{key}={dot_string(value)}" for key, value in attrs.items()) + "]"


def node_text(node: Node) -> str:
    """A node's label on a drawing: its name, then its namespace."""
    if node.box or not node.namespace or node.namespace == node.label:
        return node.label
    return f"{node.label}\n{node.namespace}"


def dot_node(node: Node, indent: str) -> str:
    return (f"{indent}{dot_string(node.id)} "
            + dot_attributes(label=node_text(node), tooltip=node_text(node), id=node.id,
                             color=node.colour, fillcolor=node.fill) + ";")


def dot_box(graph: Graph, box: Node, indent: str) -> list[str]:
    """A box as a Graphviz cluster (the `cluster_` name makes it one), its members inside."""
    lines = [f"{indent}subgraph {dot_string('cluster_' + box.id)} {{",
             f"{indent}  graph " + dot_attributes(label=box.label, id=box.id, color=box.colour,
                                                 fillcolor=box.fill, style="filled,rounded")
             + ";"]
    lines += dot_members(graph, box.id, indent + "  ")
    lines.append(f"{indent}}}")
    return lines


def dot_members(graph: Graph, parent: str | None, indent: str) -> list[str]:
    lines = []
    for node in graph.children(parent):
        lines += dot_box(graph, node, indent) if node.box else [dot_node(node, indent)]
    return lines


def dot(graph: Graph) -> bytes:
    """The graph in Graphviz's dot language, left to right, in the page's colours.

    Edge texts are `xlabel`s, placed once the layout is done: as `label`s they would be
    laid out as nodes, which makes big layouts slower and, with clusters, makes dot 2.42
    fail ("lost edge")."""
    title = f"{graph.graph_type} graph, {graph.duration} s to {graph.timestamp}"
    lines = ["digraph meshlens {",
             "  graph " + dot_attributes(rankdir="LR", label=title, fontname="Helvetica",
                                         fontsize="11") + ";",
             "  node " + dot_attributes(shape="box", style="rounded,filled",
                                        fontname="Helvetica", fontsize="10") + ";",
             "  edge " + dot_attributes(fontname="Helvetica", fontsize="9") + ";"]
    lines += dot_members(graph, None, "  ")
    for edge in graph.edges:
        lines.append(f"  {dot_string(edge.source)} -> {dot_string(edge.target)} "
                     + dot_attributes(xlabel=edge.label, id=edge.id, color=edge.colour,
                                      fontcolor=edge.colour) + ";")
    lines.append("}")
    return ("\n".join(lines) + "\n").encode()


# --- Mermaid ----------------------------------------------------------------------------------

# Left as they are in a quoted Mermaid label: letters and digits (any script), and a few
# marks that mean nothing to Mermaid's parser or to HTML. Everything else is written as
# Mermaid's entity code `#<decimal>;`, which Mermaid turns into an HTML character reference.
MERMAID_CODED = re.compile(r"[^\w .,:/+-]")


def mermaid_text(text: str) -> str:
    """A Mermaid label's text, between its quotes; newlines become <br> line breaks.

    >>> mermaid_text('a"b<end>')
    'a#34;b#60;end#62;'
    """
    coded = MERMAID_CODED.sub(lambda m: f"#{ord(m[0])};", text)
    return coded.replace("#10;", "<br>")


def mermaid(graph: Graph) -> bytes:
    """A Mermaid flowchart: boxes as subgraphs, health as classes, edges coloured in order.

    Mermaid's own ids (n0, n1... for nodes, b0... for boxes) stand for the body's ids,
    which Mermaid would read as numbers or keywords."""
    names: dict[str, str] = {}
    for node in graph.nodes:
        names[node.id] = f"b{len(names)}" if node.box else f"n{len(names)}"
    lines = ["flowchart LR"]

    def members(parent: str | None, indent: str) -> None:
        for node in graph.children(parent):
            text = mermaid_text(node_text(node))
            if node.box:
                lines.append(f'{indent}subgraph {names[node.id]}["{text}"]')
                members(node.id, indent + "  ")
                lines.append(f"{indent}end")
            else:
                lines.append(f'{indent}{names[node.id]}["{text}"]')

    members(None, "  ")
    for edge in graph.edges:
        lines.append(f'  {names[edge.source]} -->|"{mermaid_text(edge.label)}"| '
                     f"{names[edge.target]}")
    by_health: dict[str, list[str]] = {}
    for node in graph.nodes:
        if not node.box:
            by_health.setdefault(node.health, []).append(names[node.id])
    for health, members_ in by_health.items():
        stroke, fill = HEALTH_COLOURS[health]
        lines.append(f"  classDef {health} stroke:{stroke},fill:{fill}")
        lines.append(f"  class {','.join(members_)} {health}")
    by_colour: dict[str, list[str]] = {}
    for index, edge in enumerate(graph.edges):  # Mermaid numbers edges in their order
        by_colour.setdefault(edge.colour, []).append(str(index))
    for colour, indices in by_colour.items():
        lines.append(f"  linkStyle {','.join(indices)} stroke:{colour}")
    return ("\n".join(lines) + "\n").encode()
