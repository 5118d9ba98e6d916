# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""The hot loops of remote read (graph/remote_read.py): walking Prometheus's protobuf
answers and decoding its XOR chunks, into flat arrays.

Compiled (scripts/setup.sh runs cythonize): at 1,000 workloads an answer holds about
25,000 series of some twenty labels each, and a streamed one 3 million chunk samples;
a walk of that in Python costs seconds (bench/README.md, "sixth round: remote read").

Both readers return (label spans, offsets, times, values): for series i, its Label fields
are body[spans[i, 0]:spans[i, 1]] as the answer encodes them (the caller maps those bytes
to a row key: graph/series_keys.pyx), and its samples times[offsets[i]:offsets[i + 1]]
(ms) and values[...]: only those with mint <= t <= maxt, in the order stored. Stale
markers are kept (counter_rate drops them, as PromQL's range selection does).

Field numbers are those of prompb/remote.proto and prompb/types.proto (Prometheus 2.42):
ReadResponse.results = 1; QueryResult.timeseries = 1; TimeSeries.labels = 1, samples = 2;
Sample.value = 1 (double), timestamp = 2; ChunkedReadResponse.chunked_series = 1;
ChunkedSeries.labels = 1, chunks = 2; Chunk.min_time_ms = 1, max_time_ms = 2, type = 3
(1 = XOR), data = 4.
"""

import numpy as np

from libc.stdint cimport int64_t, uint8_t, uint64_t
from libc.string cimport memcmp, memcpy

from graph.protobuf_wire cimport (FIXED64, LEN, VARINT, Cursor, length, next_message, skip,
                                  varint)


class DecodeError(ValueError):
    """An answer that is not the protobuf (or chunk) Prometheus's remote read sends."""


cdef struct Out:
    # Filled only when `fill` is set: the first pass counts, the second writes.
    int fill
    Py_ssize_t series
    Py_ssize_t samples
    int64_t *spans
    int64_t *offsets
    int64_t *times
    double *values


cdef inline void sample(Out *out, int64_t t, double v) noexcept nogil:
    if out.fill:
        out.times[out.samples] = t
        out.values[out.samples] = v
    out.samples += 1


cdef inline void begin_series(Out *out, Py_ssize_t start, Py_ssize_t stop) noexcept nogil:
    if out.fill:
        out.spans[2 * out.series] = start
        out.spans[2 * out.series + 1] = stop
        out.offsets[out.series] = out.samples
    out.series += 1


cdef int labels_span(Cursor *c, Py_ssize_t *start, Py_ssize_t *stop) noexcept nogil:
    """Reads the series' Label fields (field 1, first in the message); leaves the cursor
    on the next field. 0 if the labels are not one run at the start."""
    cdef uint64_t key
    cdef Py_ssize_t before, size
    start[0] = c.pos
    stop[0] = c.pos
    while c.pos < c.end:
        before = c.pos
        key = varint(c)
        if c.bad:
            return 0
        if key != (1 << 3 | LEN):
            c.pos = before
            break
        size = length(c)
        c.pos += size
        stop[0] = c.pos
    return not c.bad


cdef void time_series(Cursor *c, Out *out, int64_t mint, int64_t maxt) noexcept nogil:
    """One TimeSeries of a ReadResponse (samples)."""
    cdef Py_ssize_t start, stop, end
    cdef uint64_t key, bits
    cdef int64_t t
    cdef double v
    cdef Cursor s
    if not labels_span(c, &start, &stop):
        c.bad = 1
        return
    begin_series(out, start, stop)
    while c.pos < c.end and not c.bad:
        key = varint(c)
        if key >> 3 == 1 and key & 7 == LEN:
            c.bad = 1  # a label after the samples: not the layout this reads
        elif key >> 3 == 2 and key & 7 == LEN:
            end = length(c)
            s.buf, s.pos, s.end, s.bad = c.buf, c.pos, c.pos + end, 0
            c.pos += end
            t, bits = 0, 0
            while s.pos < s.end and not s.bad:
                key = varint(&s)
                if key == (1 << 3 | FIXED64) and s.pos + 8 <= s.end:
                    memcpy(&bits, s.buf + s.pos, 8)  # little-endian, as this machine
                    s.pos += 8
                elif key == (2 << 3 | VARINT):
                    t = <int64_t>varint(&s)
                else:
                    skip(&s, key & 7)
            if s.bad:
                c.bad = 1
            elif mint <= t <= maxt:
                memcpy(&v, &bits, 8)
                sample(out, t, v)
        else:
            skip(c, key & 7)


cdef void read_response(const uint8_t *buf, Py_ssize_t size, Out *out, int64_t mint,
                        int64_t maxt, int *bad) noexcept nogil:
    cdef Cursor c, r, ts
    c.buf, c.pos, c.end, c.bad = buf, 0, size, 0
    while next_message(&c, 1, &r):  # a QueryResult
        while next_message(&r, 1, &ts):  # a TimeSeries
            time_series(&ts, out, mint, maxt)
            r.bad |= ts.bad
        c.bad |= r.bad
    bad[0] = c.bad


# --- XOR chunks (tsdb/chunkenc/xor.go's layout) ---------------------------------------------


cdef struct Bits:
    const uint8_t *buf
    Py_ssize_t size
    Py_ssize_t bit
    int bad


cdef inline uint64_t read_bits(Bits *b, int n) noexcept nogil:
    """The next n bits (n <= 64), most significant first."""
    cdef uint64_t out = 0
    cdef Py_ssize_t byte
    cdef int offset, take
    if b.bit + n > 8 * b.size:
        b.bad = 1
        return 0
    while n > 0:
        byte = b.bit >> 3
        offset = b.bit & 7
        take = 8 - offset
        if take > n:
            take = n
        out = (out << take) | ((b.buf[byte] >> (8 - offset - take)) & ((1 << take) - 1))
        b.bit += take
        n -= take
    return out


cdef inline uint64_t bits_uvarint(Bits *b) noexcept nogil:
    cdef uint64_t out = 0, byte
    cdef int shift = 0
    while shift < 64 and not b.bad:
        byte = read_bits(b, 8)
        out |= (byte & 0x7F) << shift
        if byte < 0x80:
            return out
        shift += 7
    b.bad = 1
    return 0


cdef Py_ssize_t xor_chunk(const uint8_t *data, Py_ssize_t size, Out *out, int64_t mint,
                          int64_t maxt) noexcept nogil:
    """Decodes one XOR chunk, keeping the samples in [mint, maxt]; -1 if malformed."""
    cdef Bits b
    cdef uint64_t count, i, raw, vbits, tdelta = 0, head, xbits
    cdef int64_t t, dod
    cdef int sz, leading = 0, trailing = 0, mbits
    cdef double v
    if size < 2:
        return -1
    count = (<uint64_t>data[0] << 8) | data[1]
    b.buf, b.size, b.bit, b.bad = data + 2, size - 2, 0, 0
    i = 0
    while i < count and not b.bad:
        if i == 0:
            raw = bits_uvarint(&b)  # a zigzag varint (Go's binary.PutVarint)
            t = <int64_t>(raw >> 1) ^ -(<int64_t>(raw & 1))
            vbits = read_bits(&b, 64)
        elif i == 1:
            tdelta = bits_uvarint(&b)
            t += <int64_t>tdelta
        else:
            head = 0
            for sz in range(4):
                head = head << 1 | read_bits(&b, 1)
                if not head & 1:
                    break
            sz = 0
            dod = 0
            if head == 0b10:
                sz = 14
            elif head == 0b110:
                sz = 17
            elif head == 0b1110:
                sz = 20
            elif head == 0b1111:
                dod = <int64_t>read_bits(&b, 64)
            if sz:
                raw = read_bits(&b, sz)
                # Negative deltas come back as large unsigned numbers (bstream.md).
                if raw > (<uint64_t>1 << (sz - 1)):
                    raw -= <uint64_t>1 << sz
                dod = <int64_t>raw
            tdelta = <uint64_t>(<int64_t>tdelta + dod)
            t += <int64_t>tdelta
        if i > 0:
            if read_bits(&b, 1):
                if read_bits(&b, 1):
                    leading = <int>read_bits(&b, 5)
                    mbits = <int>read_bits(&b, 6)
                    # 0 significant bits means 64 (the encoder's overflow).
                    if mbits == 0:
                        mbits = 64
                    trailing = 64 - leading - mbits
                mbits = 64 - leading - trailing
                if mbits < 0 or mbits > 64:
                    return -1
                xbits = read_bits(&b, mbits)
                vbits ^= xbits << trailing if trailing < 64 else 0
        if b.bad:
            return -1
        if t > maxt:
            break
        if t >= mint:
            memcpy(&v, &vbits, 8)
            sample(out, t, v)
        i += 1
    return 0


cdef void chunked_series(Cursor *c, Out *out, int64_t mint, int64_t maxt,
                         Py_ssize_t *last_start, Py_ssize_t *last_stop) noexcept nogil:
    """One ChunkedSeries; a series split over frames (the same labels again right after)
    goes on as the same series."""
    cdef Py_ssize_t start, stop, data, data_size
    cdef uint64_t key, ctype
    cdef int64_t cmin, cmax
    cdef Cursor k
    if not labels_span(c, &start, &stop):
        c.bad = 1
        return
    if not (last_stop[0] - last_start[0] == stop - start and out.series > 0
            and memcmp(c.buf + last_start[0], c.buf + start, stop - start) == 0):
        begin_series(out, start, stop)
    last_start[0], last_stop[0] = start, stop
    while next_message(c, 2, &k):  # a Chunk
        cmin, cmax, ctype, data, data_size = 0, 0, 0, 0, -1
        while k.pos < k.end and not k.bad:
            key = varint(&k)
            if key == (1 << 3 | VARINT):
                cmin = <int64_t>varint(&k)
            elif key == (2 << 3 | VARINT):
                cmax = <int64_t>varint(&k)
            elif key == (3 << 3 | VARINT):
                ctype = varint(&k)
            elif key == (4 << 3 | LEN):
                data_size = length(&k)
                data = k.pos
                k.pos += data_size
            else:
                skip(&k, key & 7)
        if k.bad or data_size < 0:
            c.bad = 1
        elif cmax < mint or cmin > maxt:
            continue
        elif ctype != 1 or xor_chunk(c.buf + data, data_size, out, mint, maxt) < 0:
            c.bad = 1  # not XOR (a histogram chunk), or broken


cdef void chunked_response(const uint8_t *buf, Py_ssize_t size, Out *out, int64_t mint,
                           int64_t maxt, int *bad) noexcept nogil:
    """The stream: frames of a uvarint size, a CRC32C (4 bytes, not checked here: the
    answer comes over one TCP connection whose own checksums cover it) and a
    ChunkedReadResponse."""
    cdef Cursor f, m, cs
    cdef Py_ssize_t n, last_start = 0, last_stop = 0
    f.buf, f.pos, f.end, f.bad = buf, 0, size, 0
    while f.pos < f.end and not f.bad:
        n = <Py_ssize_t>varint(&f)
        if f.bad or n + 4 > f.end - f.pos:
            f.bad = 1
            break
        m.buf, m.pos, m.end, m.bad = buf, f.pos + 4, f.pos + 4 + n, 0
        f.pos += 4 + n
        while next_message(&m, 1, &cs):  # a ChunkedSeries
            chunked_series(&cs, out, mint, maxt, &last_start, &last_stop)
            m.bad |= cs.bad
        f.bad |= m.bad
    bad[0] = f.bad


ctypedef void (*Reader)(const uint8_t *, Py_ssize_t, Out *, int64_t, int64_t,
                        int *) noexcept nogil


cdef tuple run(Reader reader, const uint8_t[::1] body, int64_t mint, int64_t maxt, str what):
    cdef Out out
    cdef int bad = 0
    cdef const uint8_t *buf = &body[0] if body.shape[0] else NULL
    cdef Py_ssize_t size = body.shape[0]
    out.fill, out.series, out.samples = 0, 0, 0
    with nogil:
        reader(buf, size, &out, mint, maxt, &bad)
    if bad:
        raise DecodeError(f"not a well-formed {what} ({size} bytes)")
    spans = np.empty((out.series, 2), dtype=np.int64)
    offsets = np.empty(out.series + 1, dtype=np.int64)
    times = np.empty(out.samples, dtype=np.int64)
    values = np.empty(out.samples, dtype=np.float64)
    cdef int64_t[:, ::1] s = spans
    cdef int64_t[::1] o = offsets
    cdef int64_t[::1] t = times
    cdef double[::1] v = values
    out.fill = 1
    out.spans = &s[0, 0] if out.series else NULL
    out.offsets = &o[0]
    out.times = &t[0] if out.samples else NULL
    out.values = &v[0] if out.samples else NULL
    out.series, out.samples = 0, 0
    with nogil:
        reader(buf, size, &out, mint, maxt, &bad)
    o[out.series] = out.samples
    return spans, offsets, times, values


def read_samples(const uint8_t[::1] body, int64_t mint, int64_t maxt) -> tuple:
    """A ReadResponse (snappy already undone), response type SAMPLES."""
    return run(read_response, body, mint, maxt, "ReadResponse")


def read_chunks(const uint8_t[::1] body, int64_t mint, int64_t maxt) -> tuple:
    """The frames of a STREAMED_XOR_CHUNKS answer."""
    return run(chunked_response, body, mint, maxt, "stream of ChunkedReadResponse")
