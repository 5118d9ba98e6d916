# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Python objects read into columns, compiled, for the JSON written per build: a
MultiDiGraph's edges as lists (`edge_columns`), and graph/edge_ends.py's table lookups
(names numbered, fixed-width entries sliced out, items picked by position). Each replaces
a Python loop (or a `map` of a slice or a dict read) over the 75,000 edges of a build at
10,000 workloads.
"""

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize
from cpython.dict cimport PyDict_GetItem
from cpython.list cimport PyList_New, PyList_SET_ITEM
from cpython.object cimport PyObject
from cpython.ref cimport Py_INCREF
from cpython.unicode cimport PyUnicode_DecodeASCII
from libc.stdint cimport int64_t


cdef extern from "Python.h":
    const char *PyUnicode_AsUTF8AndSize(object text, Py_ssize_t *size) except NULL


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
