# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Rates written as text, compiled: the %-formats of graph/json_pieces.py applied to rows
of one array of doubles (graph/json_pieces.py's nodes' traffic, graph/traffic_columns.py's
edges'), and the nodes' rates read from their mds.

`format_rows` applies each row's %-format to its slice of the array, as
`fmt % tuple(values[start:stop])` would: the formats' only directives are `%%` and
`%.<digits>f`, and a float is written as CPython's `%` writes it
(`PyOS_double_to_string(x, 'f', digits, 0, NULL)`), so the bytes are the same. At 10,000
workloads that is 750,000 values a build; with a Python tuple, a slice and a `%` per edge it
cost about 100 ms (bench/README.md, "seventh round: the JSON written").
"""

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from cpython.dict cimport PyDict_GetItem
from cpython.float cimport PyFloat_AsDouble
from cpython.list cimport PyList_New, PyList_SET_ITEM
from cpython.mem cimport PyMem_Free, PyMem_Realloc
from cpython.object cimport PyObject
from cpython.ref cimport Py_INCREF
from libc.math cimport frexp, signbit
from libc.stdint cimport int64_t, uint64_t
from libc.string cimport memchr, memcpy, strlen


cdef extern from *:
    ctypedef unsigned long long u128 "unsigned __int128"

cdef extern from "Python.h":
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
