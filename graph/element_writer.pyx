# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""The per-element loops of the JSON written per build (graph/cytoscape_json.py), compiled.

At 10,000 workloads a build writes 75,000 edges and 15,000 nodes. Their pieces are kept
across builds (graph/json_pieces.py); what is left per build is, per element, a dozen dict
reads, a tuple of pieces and its names. Done one Python operation at a time that cost
0.35 s of a build (bench/README.md, "seventh round: the JSON written"); the same operations
here run without the interpreter between them. What is rare (a piece not kept yet, a
merged graph's sources) goes back to the Python that makes it. The rates' text is
graph/rate_text.pyx's.
"""

from cpython.dict cimport PyDict_GetItem
from cpython.list cimport PyList_New
from cpython.mem cimport PyMem_Calloc, PyMem_Free
from cpython.object cimport PyObject
from libc.stdint cimport uint64_t


cdef object new_element(type element, object edge_id, tuple pieces, object names):
    """element(edge_id, pieces, names, None), made as tuple.__new__ makes a subclass's."""
    return tuple.__new__(element, (edge_id, pieces, names, None))


cdef class EdgeFields:
    """What edge_elements reads besides the edges: the kept pieces, the field names and
    the Python calls for what is rare (graph/edge_json.py makes one)."""

    cdef public type element
    cdef public dict health_pieces  # by status: its "healthStatus" piece
    cdef public dict values  # json_pieces.PIECES.values: (name, value) -> piece
    cdef public tuple appended  # graph.cytoscape.APPENDED_EDGE_FIELDS
    cdef public list shapes  # by mask of fields present: the names, or None
    cdef public object na  # graph.health.NA
    cdef public object make_shape  # mask -> names
    cdef public object health_piece  # status -> piece
    cdef public object value_piece  # (name, value) -> piece
    cdef public object sources_piece  # md -> its "sources" piece
    cdef public object traffic_piece  # (protocol, md, source md) -> its "traffic" piece

    def __init__(self, element, health_pieces, values, appended, na, make_shape,
                 health_piece, value_piece, sources_piece, traffic_piece):
        self.element, self.health_pieces, self.values = element, health_pieces, values
        self.appended, self.na, self.make_shape = tuple(appended), na, make_shape
        self.shapes = [None] * (1 << (2 + len(self.appended)))
        self.health_piece, self.value_piece = health_piece, value_piece
        self.sources_piece, self.traffic_piece = sources_piece, traffic_piece


cdef inline object health_of(EdgeFields f, object status):
    cdef PyObject *found = PyDict_GetItem(f.health_pieces, status)
    if found != NULL:
        return <object>found
    return f.health_piece(status)


cdef class MdPieces:
    """Edges' traffic pieces by their md, the md found by identity (as a dict keyed by
    id(md) would, without a Python int and a tuple per edge: that dict cost 40 ms of a
    build at 10,000 workloads): for md i of `mds`, pieces[i], written with sources[i] as
    the edge's source md. An md given twice keeps its last entry."""

    cdef readonly list mds, pieces, sources
    cdef Py_ssize_t *slots  # open addressing: an entry's position + 1, 0 where empty
    cdef int bits
    cdef Py_ssize_t count

    def __cinit__(self, list mds, list pieces, list sources):
        cdef Py_ssize_t n = len(mds), i, at, size
        if len(pieces) != n or len(sources) != n:
            raise ValueError("mds, pieces and sources must have one entry per md")
        self.mds, self.pieces, self.sources = mds, pieces, sources
        self.bits = 4
        while (<Py_ssize_t>1 << self.bits) < 2 * n:
            self.bits += 1
        size = <Py_ssize_t>1 << self.bits
        self.slots = <Py_ssize_t *>PyMem_Calloc(size, sizeof(Py_ssize_t))
        if self.slots == NULL:
            raise MemoryError()
        for i in range(n):
            at = self.probe(<PyObject *>mds[i])
            if self.slots[at] == 0:
                self.count += 1
            self.slots[at] = i + 1

    def __dealloc__(self):
        PyMem_Free(self.slots)

    def __len__(self):
        return self.count

    cdef inline Py_ssize_t probe(self, PyObject *md) noexcept:
        """The slot of `md`: its entry's, or the empty one where it would go."""
        cdef Py_ssize_t mask = (<Py_ssize_t>1 << self.bits) - 1, at, found
        at = <Py_ssize_t>((<uint64_t>md >> 4) * <uint64_t>11400714819323198485ULL
                          >> (64 - self.bits))
        while True:
            found = self.slots[at]
            if found == 0 or <PyObject *>self.mds[found - 1] == md:
                return at
            at = (at + 1) & mask

    cpdef object piece(self, object md, object source_md):
        """md's piece if it was written with this source md, else None."""
        cdef Py_ssize_t known = self.find(md)
        return self.pieces[known] if known >= 0 and self.sources[known] is source_md else None

    cdef inline Py_ssize_t find(self, object md):
        """md's position in mds, -1 if not there."""
        return self.slots[self.probe(<PyObject *>md)] - 1


def edge_elements(EdgeFields f, list edge_ids, list id_pieces, list sources, list targets,
                  list protocols, list datas, const long[::1] order, bint extras,
                  bint edge_health, MdPieces texts):
    """The elements of edges order[0], order[1], ...: each edge's id, id piece, source and
    target pieces, protocol and data by the edge's position (graph/edge_json.py).

    The elements are made in the edges' own order and then put in `order`: the mds are
    read in the order the map made them, which at 10,000 workloads took half the time of
    reading them in Kiali's order (75,000 dicts far apart in memory)."""
    cdef Py_ssize_t n = len(datas), i, at, j, count
    cdef int mask
    cdef object md, d, value, piece, source_md, names, status
    cdef PyObject *found
    cdef list out = PyList_New(0)
    cdef list pieces = []
    cdef tuple appended = f.appended
    cdef Py_ssize_t n_appended = len(appended)
    cdef bint has_texts = texts is not None and texts.count > 0
    if order.shape[0] != n:
        raise ValueError("order must have one position per edge")
    for at in range(n):
        d = datas[at]
        md = <dict?>((<dict?>d)["md"])
        pieces.clear()
        pieces.append(id_pieces[at])
        pieces.append(sources[at])
        pieces.append(targets[at])
        mask = 0
        if extras:
            found = PyDict_GetItem(md, "healthStatus")
            status = <object>found if found != NULL else f.na
            pieces.append(health_of(f, status))
            mask |= 1
            if "sources" in <dict>md:  # only in a graph merged from several data sources
                pieces.append(f.sources_piece(md))
                mask |= 2
        elif edge_health:
            found = PyDict_GetItem(md, "healthStatus")
            status = <object>found if found != NULL else f.na
            if status != f.na:
                pieces.append(health_of(f, status))
                mask |= 1
        for j in range(n_appended):
            found = PyDict_GetItem(md, appended[j])
            if found == NULL:
                continue
            value = <object>found
            piece = None
            if type(value) is str or type(value) is bool or value is None:
                found = PyDict_GetItem(f.values, (appended[j], value))
                if found != NULL:
                    piece = <object>found
            if piece is None:
                piece = f.value_piece(appended[j], value)
            pieces.append(piece)
            mask |= 4 << j
        source_md = (<dict>d)["source_md"]
        piece = None
        if has_texts:
            piece = texts.piece(md, source_md)
        if piece is None:
            piece = f.traffic_piece(protocols[at], md, source_md)
        pieces.append(piece)
        names = f.shapes[mask]
        if names is None:
            names = f.shapes[mask] = f.make_shape(mask)
        out.append(new_element(f.element, edge_ids[at], tuple(pieces), names))
    for i in range(n):
        if not 0 <= order[i] < n:
            raise ValueError(f"order[{i}] is not an edge's position")
    return [out[order[i]] for i in range(n)]


def ends_in_order(list sources, list targets, const long[::1] order):
    """[(sources[i], targets[i]) for i in order]: each edge's ends, in the elements' order."""
    cdef Py_ssize_t n = order.shape[0], k
    if len(sources) != n or len(targets) != n:
        raise ValueError("sources, targets and order must have one entry per edge")
    for k in range(n):
        if not 0 <= order[k] < n:
            raise ValueError(f"order[{k}] is not an edge's position")
    return [(sources[order[k]], targets[order[k]]) for k in range(n)]


cdef class Node:
    """A node while graph/cytoscape_json.py puts the elements together (boxes are added and
    nodes sorted): its facts' fields, its pieces and their names so far. A compiled class:
    made in graph_nodes without a Python __init__ (15,000 of those cost 20 ms)."""

    cdef public object id, pieces, names, flags, is_box, cluster, namespace, app
    cdef public object sort_key, label, parent

    def __init__(self, facts, pieces, names, flags, is_box=""):
        self.id, self.pieces, self.names = facts[0], pieces, names
        self.flags, self.is_box = flags, is_box
        self.cluster, self.namespace, self.app = facts[5], facts[6], facts[7]
        self.sort_key, self.label = facts[8], facts[3]
        self.parent = ""


cdef Node new_node(tuple facts, list pieces, list names, tuple flags):
    """Node(facts, pieces, names, flags), its fields read from the NodeFacts tuple."""
    cdef Node n = Node.__new__(Node)
    n.id, n.pieces, n.names, n.flags, n.is_box = facts[0], pieces, names, flags, ""
    n.cluster, n.namespace, n.app = facts[5], facts[6], facts[7]
    n.sort_key, n.label, n.parent = facts[8], facts[3], ""
    return n


cdef class NodeFields:
    """What graph_nodes reads besides the graph: the kept facts and pieces, the flags'
    names and the Python calls for what is made once (graph/cytoscape_json.py makes one)."""

    cdef public dict facts  # cytoscape_json.NODE_FACTS: by the node's names
    cdef public dict values  # json_pieces.PIECES.values: (name, value) -> piece
    cdef public tuple flags  # graph.cytoscape.NODE_FLAGS
    cdef public object na  # graph.health.NA
    cdef public object make_facts  # (node id, attrs) -> NodeFacts
    cdef public object piece  # json_pieces.PIECES.get: (name, value) -> piece
    cdef public object dest_services_piece  # destServices -> piece
    cdef public dict dest_services  # cytoscape_json.DEST_SERVICES: by the sorted services
    cdef public object health_data_piece  # healthData (not None) -> piece
    cdef public object sources_piece  # md -> its "sources" piece

    def __init__(self, facts, values, flags, na, make_facts, piece,
                 dest_services_piece, dest_services, health_data_piece, sources_piece):
        self.facts, self.values, self.flags = facts, values, tuple(flags)
        self.na, self.make_facts, self.piece = na, make_facts, piece
        self.dest_services_piece, self.health_data_piece = dest_services_piece, health_data_piece
        self.sources_piece, self.dest_services = sources_piece, dest_services


cdef inline object kept_piece(NodeFields f, str name, object value):
    cdef PyObject *found = PyDict_GetItem(f.values, (name, value))
    if found != NULL:
        return <object>found
    return f.piece(name, value)


cdef inline object get_or_none(dict d, str key):
    cdef PyObject *found = PyDict_GetItem(d, key)
    return <object>found if found != NULL else None


def graph_nodes(NodeFields f, dict node_attrs, list rates, bint extras):
    """cytoscape_json's Node of every node (`node_attrs`: node id -> attributes, as
    g.nodes(data=True) gives them), with its pieces: its facts' (by its names, kept),
    destServices, traffic (`rates`: each node's json_pieces.node_traffic_texts), healthData,
    flags, and with `extras` its healthStatus, label and sources."""
    cdef list out = []
    cdef list pieces, names
    cdef Py_ssize_t i = 0, j
    cdef object node_id, n, md, facts, key, value, text
    cdef PyObject *found
    if len(rates) != len(node_attrs):
        raise ValueError("rates must have one entry per node")
    for node_id, n in node_attrs.items():
        md = (<dict?>n)["md"]
        if type(md) is not dict:
            raise TypeError(f"node {node_id!r}'s md is not a dict")
        key = (node_id, (<dict>n)["node_type"], (<dict>n)["cluster"], (<dict>n)["namespace"],
               get_or_none(n, "workload"), get_or_none(n, "app"), get_or_none(n, "version"),
               get_or_none(n, "service"))
        found = PyDict_GetItem(f.facts, key)
        facts = <object>found if found != NULL else f.make_facts(node_id, n)
        if not isinstance(facts, tuple) or len(<tuple>facts) != 9:
            raise TypeError(f"node {node_id!r}'s facts are not a NodeFacts")
        pieces = list(<tuple?>((<tuple>facts)[1]))
        names = list(<tuple?>((<tuple>facts)[2]))
        value = get_or_none(md, "destServices")
        if value:
            found = NULL
            if type(value) is dict and len(<dict>value) == 1:  # most nodes: one service
                for key in <dict>value:
                    found = PyDict_GetItem(f.dest_services, (key,))
            pieces.append(<object>found if found != NULL else f.dest_services_piece(value))
            names.append("destServices")
        text = rates[i]
        i += 1
        if text is not None:
            pieces.append(b'"traffic":' + <bytes?>text)
            names.append("traffic")
        value = get_or_none(md, "healthData")
        pieces.append(kept_piece(f, "healthData", None) if value is None
                      else f.health_data_piece(value))
        names.append("healthData")
        for j in range(len(f.flags)):
            value = get_or_none(md, f.flags[j])
            if value:
                pieces.append(kept_piece(f, f.flags[j], True))
                names.append(f.flags[j])
        if extras:
            found = PyDict_GetItem(md, "healthStatus")
            pieces.append(kept_piece(f, "healthStatus", <object>found if found != NULL
                                     else f.na))
            pieces.append((<tuple>facts)[4])  # its label's piece
            names.append("healthStatus")
            names.append("label")
            if "sources" in <dict>md:  # only in a graph merged from several data sources
                pieces.append(f.sources_piece(md))
                names.append("sources")
        out.append(new_node(<tuple>facts, pieces, names,
                            (bool(get_or_none(md, "isInaccessible")),
                             bool(get_or_none(md, "isOutside")))))
    return out


def node_elements(list nodes, bint extras, type element, type drawn, dict values,
                  dict shapes, piece):
    """Each of cytoscape_json's Nodes (sorted, boxes added) as its Element, its parent's
    piece last; and as its Drawn (what the layout reads). `values`: json_pieces.PIECES's
    kept pieces, `piece` (json_pieces.PIECES.get) making one not kept; `shapes`:
    json_pieces.SHAPES, the names tuples shared by elements of one shape."""
    cdef list elements = [], drawn_nodes = []
    cdef list pieces, names
    cdef object parent, key, shape
    cdef Node n
    cdef PyObject *found
    for n in nodes:
        pieces, names, parent = n.pieces, n.names, n.parent
        if parent:
            key = ("parent", parent)
            found = PyDict_GetItem(values, key)
            pieces.append(<object>found if found != NULL else piece("parent", parent))
            names.append("parent")
        shape = tuple(names)
        shape = shapes.setdefault(shape, shape)
        elements.append(tuple.__new__(element, (n.id, tuple(pieces), shape, None)))
        drawn_nodes.append(tuple.__new__(drawn, (n.id, n.cluster, n.namespace,
                                                 n.label if extras else "", parent, n.is_box)))
    return elements, drawn_nodes


