"""Records of a row's labels built from groups of label names that several records share.

A dialect's queries group by the same runs of labels again and again (an edge's thirteen,
then the response, or the connection's security). Each run is written once, as a tuple of
names, and a record is the runs one after the other:

    TcpLabels = label_record("TcpLabels", "istio_tcp_*_bytes_total.", "app", *EDGE,
                             "response_flags")

The record is a NamedTuple like one written as a class: rows are read by field name
(`row.source_workload`, a tuple's attribute access, as fast as ever), `_fields` holds the
names in the order given, which is the order the queries group by.
"""

from __future__ import annotations

import sys
from typing import Any, NamedTuple


def label_record(name: str, doc: str, *fields: str) -> Any:
    """A NamedTuple class `name` of str fields `fields`, in that order. It belongs to the
    module that calls this (so that it pickles by that module's name, as a class statement
    there would); a field named twice is an error at import (namedtuple's own check)."""
    record: Any = NamedTuple(name, [(field, str) for field in fields])  # type: ignore[misc]
    record.__module__ = sys._getframe(1).f_globals["__name__"]
    record.__doc__ = doc
    return record
