"""Protocol buffers' wire format, read in place: what graph/remote_decode.pyx and
graph/series_keys.pyx walk Prometheus's remote-read answers with."""

from libc.stdint cimport uint8_t, uint64_t

cdef enum:
    VARINT = 0
    FIXED64 = 1
    LEN = 2
    FIXED32 = 5


cdef struct Cursor:
    const uint8_t *buf
    Py_ssize_t pos
    Py_ssize_t end
    int bad


cdef inline uint64_t varint(Cursor *c) noexcept nogil:
    cdef uint64_t out = 0
    cdef int shift = 0
    cdef uint8_t b
    while c.pos < c.end and shift < 64:
        b = c.buf[c.pos]
        c.pos += 1
        out |= <uint64_t>(b & 0x7F) << shift
        if b < 0x80:
            return out
        shift += 7
    c.bad = 1
    return 0


cdef inline Py_ssize_t length(Cursor *c) noexcept nogil:
    """A LEN field's payload length, checked against the message's end."""
    cdef uint64_t n = varint(c)
    if c.bad or n > <uint64_t>(c.end - c.pos):
        c.bad = 1
        return 0
    return <Py_ssize_t>n


cdef inline void skip(Cursor *c, uint64_t wire) noexcept nogil:
    cdef Py_ssize_t n
    if wire == VARINT:
        varint(c)
    elif wire == FIXED64:
        c.pos += 8
    elif wire == LEN:
        n = length(c)  # apart: `c.pos += length(c)` may read c.pos before length moves it
        c.pos += n
    elif wire == FIXED32:
        c.pos += 4
    else:
        c.bad = 1
    if c.pos > c.end:
        c.bad = 1


cdef inline bint next_message(Cursor *c, uint64_t field, Cursor *inner) noexcept nogil:
    """Moves `c` past its next LEN field numbered `field` (skipping the other fields) and
    points `inner` at that field's payload; false at the end of `c` or once it is bad."""
    cdef uint64_t key
    cdef Py_ssize_t n
    while c.pos < c.end and not c.bad:
        key = varint(c)
        if key != (field << 3 | LEN):
            skip(c, key & 7)
            continue
        n = length(c)
        inner.buf, inner.pos, inner.end, inner.bad = c.buf, c.pos, c.pos + n, 0
        c.pos += n
        return True
    return False
