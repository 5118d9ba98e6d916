# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""The per-element loops of the JSON written per build (graph/cytoscape_json.py), compiled.

At 10,000 workloads a build writes 75,000 edges and 15,000 nodes. Their pieces are kept
across builds (graph/json_pieces.py); what is left per build is, per element, a dozen dict
reads, a tuple of pieces, and the rates formatted. Done one Python operation at a time that
cost 0.6 s of a build (bench/README.md, "seventh round: the JSON written"); the same
operations here run without the interpreter between them.

`format_rows` applies each row's %-format to its slice of one array of doubles, as
`fmt % tuple(values[start:stop])` would: the formats are the ones graph/json_pieces.py
makes, whose only directives are `%%` and `%.<digits>f`, and a float is written with the
call CPython's `%` makes (`PyOS_double_to_string(x, 'f', digits, 0, NULL)`), so the bytes
are the same.
"""

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from cpython.dict cimport PyDict_GetItem
from cpython.float cimport PyFloat_AsDouble
from cpython.list cimport PyList_New, PyList_SET_ITEM
from cpython.mem cimport PyMem_Calloc, PyMem_Free, PyMem_Realloc
from cpython.object cimport PyObject
from cpython.ref cimport Py_INCREF
from cpython.unicode cimport PyUnicode_DecodeASCII
from libc.stdint cimport int64_t, uint64_t
from libc.math cimport frexp, signbit
from libc.string cimport memchr, memcpy, strlen


cdef extern from *:
    ctypedef unsigned long long u128 "unsigned __int128"

cdef extern from "Python.h":
    const char *PyUnicode_AsUTF8AndSize(object text, Py_ssize_t *size) except NULL
    char *PyOS_double_to_string(double val, char format_code, int precision, int flags,
                                int *type) except NULL


cdef enum:
    PERCENT = 37  # '%'
    DOT = 46  # '.'
    ZERO = 48  # '0'
    LETTER_F = 102  # 'f'


cdef struct Buffer:
    char *data
    Py_ssize_t size
    Py_ssize_t used


cdef int grow(Buffer *b, Py_ssize_t more) except -1:
    cdef Py_ssize_t size = b.size
    cdef char *data
    if b.used + more <= size:
        return 0
    while size < b.used + more:
        size = size * 2 if size else 4096
    data = <char *>PyMem_Realloc(b.data, size)
    if data == NULL:
        raise MemoryError()
    b.data, b.size = data, size
    return 0


cdef int put(Buffer *b, const char *text, Py_ssize_t n) except -1:
    grow(b, n)
    memcpy(b.data + b.used, text, n)
    b.used += n
    return 0


cdef uint64_t[10] POWERS = [1, 10, 100, 1000, 10000, 100000, 1000000, 10000000,
                            100000000, 1000000000]


cdef int put_fixed(Buffer *b, double v, int digits) except -1:
    """Writes v with `digits` decimals as PyOS_double_to_string(v, 'f', digits) does, for
    0 <= v < 1e9 and digits <= 9 (the rates); returns 0, writing nothing, for any other
    value (the caller writes it so). Exact: v is m * 2**-s, so v * 10**digits is
    m * 10**digits / 2**s, in integers (at most 83 bits), rounded half to even as
    CPython's correctly rounded dtoa does; dtoa's own bignum arithmetic cost 60 % of
    formatting an edge's traffic."""
    cdef int exponent, shift, i, length = 0
    cdef uint64_t m, q
    cdef u128 scaled, rest, half
    cdef char[32] text
    if not (0.0 <= v < 1e9) or signbit(v) or digits > 9:
        return 0
    m = <uint64_t>(frexp(v, &exponent) * 9007199254740992.0)  # 2**53: exact
    shift = 53 - exponent  # v = m / 2**shift, shift >= 23 as v < 1e9 < 2**30
    scaled = <u128>m * POWERS[digits]
    if shift >= 100:  # scaled < 2**83: below a half
        q = 0
    else:
        q = <uint64_t>(scaled >> shift)
        rest = scaled & (((<u128>1) << shift) - 1)
        half = (<u128>1) << (shift - 1)
        if rest > half or (rest == half and q & 1):
            q += 1
    while q or length <= digits:  # the digits, last first; at least one before the point
        if length == digits and digits:
            text[length] = DOT
            length += 1
        text[length] = ZERO + <int>(q % 10)
        q //= 10
        length += 1
    grow(b, length)
    for i in range(length):
        b.data[b.used + i] = text[length - 1 - i]
    b.used += length
    return 1


cdef int apply_format(Buffer *b, bytes fmt, const double *values, Py_ssize_t count) except -1:
    """fmt % values: `%%` and `%.<digits>f` only."""
    cdef const char *f = PyBytes_AS_STRING(fmt)
    cdef Py_ssize_t n = PyBytes_GET_SIZE(fmt), i = 0, run, used = 0
    cdef int digits
    cdef char *text
    cdef const char *next_percent
    while i < n:
        run = i
        next_percent = <const char *>memchr(f + i, PERCENT, n - i)
        i = n if next_percent == NULL else next_percent - f
        if i > run:
            put(b, f + run, i - run)
        if i >= n:
            break
        if i + 1 < n and f[i + 1] == PERCENT:
            put(b, b"%", 1)
            i += 2
            continue
        if i + 1 >= n or f[i + 1] != DOT:
            raise ValueError(f"unsupported %-format: {fmt!r}")
        i += 2
        digits = 0
        while i < n and ZERO <= f[i] <= ZERO + 9:
            digits = digits * 10 + (f[i] - ZERO)
            i += 1
        if i >= n or f[i] != LETTER_F:
            raise ValueError(f"unsupported %-format: {fmt!r}")
        i += 1
        if used >= count:
            raise TypeError("not enough arguments for format string")
        if not put_fixed(b, values[used], digits):
            text = PyOS_double_to_string(values[used], LETTER_F, digits, 0, NULL)
            try:
                put(b, text, strlen(text))
            finally:
                PyMem_Free(text)
        used += 1
    if used != count:
        raise TypeError("not all arguments converted during bytes formatting")
    return 0


def format_rows(list formats, const double[::1] values, const int64_t[::1] start,
                bytes prefix=b""):
    """`prefix + formats[i] % tuple(values[start[i]:start[i + 1]])` of every row i."""
    cdef Py_ssize_t rows = len(formats), i
    cdef Buffer b
    cdef object fmt, text
    if start.shape[0] != rows + 1:
        raise ValueError("start must have one more entry than formats")
    if rows and (start[0] < 0 or start[rows] > values.shape[0]):
        raise ValueError("start reaches past values")
    out = PyList_New(rows)
    b.data, b.size, b.used = NULL, 0, 0
    try:
        for i in range(rows):
            fmt = formats[i]
            if type(fmt) is not bytes:
                raise TypeError(f"format {i} is not bytes")
            if start[i + 1] < start[i]:
                raise ValueError("start must not decrease")
            b.used = 0
            put(&b, PyBytes_AS_STRING(prefix), PyBytes_GET_SIZE(prefix))
            apply_format(&b, <bytes>fmt, &values[0] + start[i] if values.shape[0] else NULL,
                         start[i + 1] - start[i])
            text = PyBytes_FromStringAndSize(b.data, b.used)
            Py_INCREF(text)
            PyList_SET_ITEM(out, i, text)
    finally:
        PyMem_Free(b.data)
    return out


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


def edge_columns(dict succ, dict hashed):
    """Each edge's source and target JSON ids (`hashed` by node id), key (its protocol) and
    data, in the order networkx's g.edges(keys=True, data=True) gives them: `succ` is a
    MultiDiGraph's adjacency (node -> neighbour -> key -> data), read as that view reads it."""
    cdef list sources = [], targets = [], protocols = [], datas = []
    cdef object u, v, k, d, source, target, neighbours, keyed
    for u, neighbours in succ.items():
        source = hashed[u]
        for v, keyed in (<dict?>neighbours).items():
            target = hashed[v]
            for k, d in (<dict?>keyed).items():
                sources.append(source)
                targets.append(target)
                protocols.append(k)
                datas.append(d)
    return sources, targets, protocols, datas


def md_values(list mds, tuple keys, double[:, ::1] out):
    """out[i, j] = mds[i].get(keys[j], 0.0) as a double (a number, not a str): each md
    read once, all its keys in turn (a column a key read every md once per key: 15,000
    dicts far apart, a dozen times)."""
    cdef Py_ssize_t n = len(mds), k = len(keys), i, j
    cdef PyObject *found
    cdef object md
    if out.shape[0] != n or out.shape[1] != k:
        raise ValueError("out must have a row per md and a column per key")
    for i in range(n):
        md = mds[i]
        if type(md) is not dict:
            raise TypeError(f"md {i} is not a dict")
        for j in range(k):
            found = PyDict_GetItem(md, keys[j])
            out[i, j] = 0.0 if found == NULL else PyFloat_AsDouble(<object>found)


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


def numbered(dict numbers, list names, int64_t[::1] out):
    """out[i] = numbers.get(names[i], -1), for graph/edge_ends.py's table."""
    cdef Py_ssize_t n = len(names), i
    cdef PyObject *found
    if out.shape[0] != n:
        raise ValueError("out must have one entry per name")
    for i in range(n):
        found = PyDict_GetItem(numbers, names[i])
        out[i] = -1 if found == NULL else <int64_t>(<object>found)


def fixed_width(text, const int64_t[::1] rows, Py_ssize_t width):
    """text[row * width:(row + 1) * width] of each row (a str of ASCII, or bytes)."""
    cdef Py_ssize_t n = rows.shape[0], i, size = len(text)
    cdef list out = PyList_New(n)
    cdef object item
    cdef const char *data
    cdef bint is_str = type(text) is str
    if width <= 0:
        raise ValueError("width must be positive")
    if is_str:
        if not (<str>text).isascii():
            raise ValueError("text must be ASCII")
        data = PyUnicode_AsUTF8AndSize(text, NULL)
    elif type(text) is bytes:
        data = PyBytes_AS_STRING(text)
    else:
        raise TypeError("text must be a str or bytes")
    for i in range(n):
        if not 0 <= rows[i] < size // width:
            raise ValueError(f"row {rows[i]} is past the text")
        if is_str:
            item = PyUnicode_DecodeASCII(data + rows[i] * width, width, NULL)
        else:
            item = PyBytes_FromStringAndSize(data + rows[i] * width, width)
        Py_INCREF(item)
        PyList_SET_ITEM(out, i, item)
    return out


def picked(list items, const int64_t[::1] at):
    """[items[i] for i in at]."""
    cdef Py_ssize_t n = at.shape[0], k, size = len(items)
    for k in range(n):
        if not 0 <= at[k] < size:
            raise IndexError(f"{at[k]} is past the items")
    return [items[at[k]] for k in range(n)]
