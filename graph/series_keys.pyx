# cython: language_level=3, boundscheck=False, wraparound=False
"""Each series' row key, made from its labels as remote read's answer encodes them
(graph/remote_read.row_keys): the values of some labels joined, as the query plan's
label_join makes them. Compiled: a string per series of some twenty labels, 270,000
series at 10,000 workloads."""

import numpy as np

from cpython.unicode cimport PyUnicode_DecodeUTF8
from libc.stdint cimport int64_t, uint8_t, uint64_t
from libc.stdlib cimport free, realloc
from libc.string cimport memcmp, memcpy

from graph.protobuf_wire cimport LEN, Cursor, length, skip, varint

from graph.remote_decode import DecodeError


cdef inline int label_field(const uint8_t *buf, Py_ssize_t pos, Py_ssize_t end,
                            Py_ssize_t *name, Py_ssize_t *name_size, Py_ssize_t *value,
                            Py_ssize_t *value_size) noexcept nogil:
    """Reads one Label message in buf[pos:end]; 0 if malformed."""
    cdef Cursor c
    cdef uint64_t key
    cdef Py_ssize_t n
    c.buf, c.pos, c.end, c.bad = buf, pos, end, 0
    name_size[0] = value_size[0] = 0
    while c.pos < c.end and not c.bad:
        key = varint(&c)
        if key == (1 << 3 | LEN) or key == (2 << 3 | LEN):
            n = length(&c)
            if key >> 3 == 1:
                name[0], name_size[0] = c.pos, n
            else:
                value[0], value_size[0] = c.pos, n
            c.pos += n
        else:
            skip(&c, key & 7)
    return not c.bad


def row_keys(const uint8_t[::1] body, const int64_t[:, ::1] spans, tuple names,
             str separator) -> list:
    """Each series' row key as label_join makes it: the values of `names` (label names)
    joined by `separator`, "" for a label the series lacks."""
    cdef Py_ssize_t count = len(names), i, j, size, pos, n
    cdef Py_ssize_t name, name_size, value, value_size
    cdef const uint8_t *buf = &body[0] if body.shape[0] else NULL
    cdef bytes sep = separator.encode()
    cdef bytes wanted_names = b"".join(n.encode() for n in names)
    wanted_at = np.zeros(count + 1, dtype=np.intp)
    cdef Py_ssize_t[::1] at = wanted_at
    for j in range(count):
        at[j + 1] = at[j] + len(names[j].encode())
    cdef list out = []
    cdef Cursor c
    cdef uint64_t key
    starts = np.zeros(count, dtype=np.intp)
    sizes = np.zeros(count, dtype=np.intp)
    cdef Py_ssize_t[::1] s = starts, z = sizes
    cdef const char *wanted = wanted_names
    cdef char *joined = NULL
    cdef char *grown
    cdef Py_ssize_t capacity = 0, sep_size = len(sep)
    try:
        for i in range(spans.shape[0]):
            z[:] = 0
            c.buf, c.pos, c.end, c.bad = buf, spans[i, 0], spans[i, 1], 0
            while c.pos < c.end and not c.bad:
                key = varint(&c)
                n = length(&c)
                if c.bad or not label_field(buf, c.pos, c.pos + n, &name, &name_size, &value,
                                            &value_size):
                    raise DecodeError(f"series {i}: a Label that is not well formed")
                c.pos += n
                for j in range(count):
                    if (at[j + 1] - at[j] == name_size
                            and memcmp(wanted + at[j], buf + name, name_size) == 0):
                        s[j], z[j] = value, value_size
                        break
            size = 0
            for j in range(count):
                size += z[j] + (sep_size if j else 0)
            if size > capacity:
                capacity = 2 * size
                grown = <char *>realloc(joined, capacity)
                if grown == NULL:
                    raise MemoryError()
                joined = grown
            pos = 0
            for j in range(count):
                if j:
                    memcpy(joined + pos, <const char *>sep, sep_size)
                    pos += sep_size
                memcpy(joined + pos, buf + s[j], z[j])
                pos += z[j]
            out.append(PyUnicode_DecodeUTF8(joined, size, NULL))
    finally:
        free(joined)
    return out
