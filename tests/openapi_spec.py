"""The API's description (dashboard/openapi.yaml) as the tests read it: its operations, each
with its parameters, `$ref`s resolved. Used by tests/test_openapi.py (the description
against the URLconf and the views) and tests/test_api_hostile_values.py (hostile values
in every parameter it lists)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

DESCRIPTION = Path(__file__).resolve().parent.parent / "dashboard" / "openapi.yaml"


@cache
def spec() -> dict[str, Any]:
    with DESCRIPTION.open() as f:
        return dict(yaml.safe_load(f))


def resolved(node: Any) -> Any:
    """`node` with a `$ref` (local, "#/a/b") replaced by what it points at."""
    while isinstance(node, Mapping) and "$ref" in node:
        target: Any = spec()
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def flat_schema(schema: Mapping[str, Any]) -> dict[str, Any]:
    """A parameter's schema with `$ref` and `allOf` folded in (outer keys win)."""
    schema = resolved(schema)
    merged: dict[str, Any] = {}
    for part in schema.get("allOf", []):
        merged |= flat_schema(part)
    merged |= {k: v for k, v in schema.items() if k not in ("allOf", "$ref")}
    return merged


@dataclass(frozen=True)
class Param:
    name: str
    where: str  # "query" or "path"
    required: bool
    schema: dict[str, Any]
    example: str | None
    extensions: dict[str, Any]  # its x- keys

    @property
    def default(self) -> str | None:
        value = self.schema.get("default")
        return None if value is None else str(value)

    @property
    def choices(self) -> tuple[str, ...]:
        return tuple(str(v) for v in self.schema.get("enum", ()))


def param_of(node: Mapping[str, Any]) -> Param:
    node = resolved(node)
    example = node.get("example")
    return Param(name=node["name"], where=node["in"], required=bool(node.get("required")),
                 schema=flat_schema(node.get("schema", {})),
                 example=None if example is None else str(example),
                 extensions={k: v for k, v in node.items() if k.startswith("x-")})


@dataclass(frozen=True)
class Operation:
    path: str  # "/api/namespaces/{namespace}/workloads/{workload}/graph"
    operation_id: str
    params: tuple[Param, ...]
    content_types: frozenset[str]  # of its 200 answer
    statuses: frozenset[int]  # the statuses it documents

    @property
    def is_page(self) -> bool:
        return self.content_types == {"text/html"}

    @property
    def query(self) -> tuple[Param, ...]:
        return tuple(p for p in self.params if p.where == "query")

    @property
    def segments(self) -> tuple[Param, ...]:
        return tuple(p for p in self.params if p.where == "path")

    def url(self, segments: Mapping[str, str]) -> str:
        from urllib.parse import quote

        return self.path.format(**{k: quote(v, safe="") for k, v in segments.items()})


def operations() -> list[Operation]:
    """Every GET operation described, in the description's order."""
    found = []
    for path, item in spec()["paths"].items():
        get = item["get"]
        ok = resolved(get["responses"]["200"])
        found.append(Operation(path, get["operationId"],
                               tuple(param_of(p) for p in get.get("parameters", [])),
                               frozenset(ok.get("content", {})),
                               frozenset(int(status) for status in get["responses"])))
    return found


def operation(operation_id: str) -> Operation:
    return next(op for op in operations() if op.operation_id == operation_id)


def response_schema(op: Operation, status: int, content_type: str) -> dict[str, Any] | None:
    """The JSON Schema (2020-12, as OpenAPI 3.1's) of an answer the operation documents,
    with the description's components beside it for its `$ref`s; None if undocumented."""
    answer = resolved(spec()["paths"][op.path]["get"]["responses"].get(str(status), {}))
    schema = answer.get("content", {}).get(content_type, {}).get("schema")
    return None if schema is None else {**schema, "components": spec()["components"]}


def websocket_params(path: str = "/ws/graph") -> tuple[Param, ...]:
    return tuple(param_of(p) for p in spec()["x-websockets"][path]["parameters"])
