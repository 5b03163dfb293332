"""GitHub's REST contract, read from the OpenAPI subset in ``tests/fixtures/github/openapi``.

The fake GitHub answers only what this contract knows: ``Contract.match`` turns a request
line into an operation (path parameters typed as the spec types them, so ``comments`` can
never be an ``issue_number``), ``Contract.check_body`` checks a JSON request body against the
operation's top-level schema, and ``Contract.response_problems`` checks a response body
against the documented response schema (used by the fake's own tests).

Invariants: nothing is read at import; ``default_contract`` parses the file once, on first
use, and the ``Contract`` it returns is never mutated.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import unquote

SPEC_PATH = (
    Path(__file__).resolve().parent.parent
    / "fixtures"
    / "github"
    / "openapi"
    / "github-rest-bot-subset.openapi.json"
)
# operations added after the subset was cut, each file cut the same way (see PROVENANCE.md)
EXTRA_SPEC_PATHS = (
    SPEC_PATH.with_name("github-rest-app-manifests.openapi.json"),
    SPEC_PATH.with_name("github-rest-app-hook-config.openapi.json"),
)
METHODS = ("get", "put", "post", "patch", "delete")
JSON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "array": (list,),
    "object": (dict,),
}


@dataclass(frozen=True)
class Operation:
    """One (method, path template) of the spec."""

    operation_id: str
    method: str
    template: str
    pattern: re.Pattern[str]
    integer_params: frozenset[str]
    body_schema: dict[str, Any] | None
    body_required: bool
    responses: dict[str, Any]
    literal_segments: int


@dataclass(frozen=True)
class Match:
    operation: Operation
    params: dict[str, Any]


@dataclass(frozen=True)
class BodyProblem:
    """Why a request body breaks the contract; ``code`` is GitHub's error code."""

    field: str | None
    code: str
    detail: str


class Contract:
    """The operations of one OpenAPI document, ready to match requests against."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self._spec = spec
        operations = [
            self._operation(template, method, item)
            for template, item in spec["paths"].items()
            for method in METHODS
            if method in item
        ]
        self._by_id = {operation.operation_id: operation for operation in operations}
        self._ordered = sorted(operations, key=lambda op: (-op.literal_segments, op.template))

    @property
    def operation_ids(self) -> frozenset[str]:
        return frozenset(self._by_id)

    def operation(self, operation_id: str) -> Operation:
        try:
            return self._by_id[operation_id]
        except KeyError:
            raise ValueError(f"the contract has no operation {operation_id!r}") from None

    def match(self, method: str, raw_path: str) -> Match | None:
        """The operation for ``method`` on ``raw_path`` (still percent-encoded), or None."""
        for operation in self._ordered:
            found = operation.pattern.fullmatch(raw_path)
            if found is None or operation.method != method.upper():
                continue
            params: dict[str, Any] = {}
            for name, raw in found.groupdict().items():
                value = unquote(raw)
                params[name] = int(value) if name in operation.integer_params else value
            return Match(operation=operation, params=params)
        return None

    def resolve(self, node: Any) -> Any:
        """Follow ``$ref`` pointers (local ones only, as the subset is self-contained)."""
        while isinstance(node, dict) and "$ref" in node:
            target: Any = self._spec
            for part in node["$ref"].removeprefix("#/").split("/"):
                target = target[part]
            node = target
        return node

    def check_body(self, operation: Operation, raw: bytes) -> tuple[Any, list[BodyProblem]]:
        """Parse ``raw`` and list where it breaks the operation's top-level body schema."""
        if not raw.strip():
            if operation.body_required:
                return None, [BodyProblem(None, "missing", "missing JSON body")]
            return None, []
        try:
            body = json.loads(raw)
        except ValueError:
            return None, [BodyProblem(None, "invalid", "body is not JSON")]
        if operation.body_schema is None:
            return body, []
        return body, self._top_level_problems(self.resolve(operation.body_schema), body)

    def _top_level_problems(self, schema: dict[str, Any], body: Any) -> list[BodyProblem]:
        if not isinstance(body, dict):
            return [BodyProblem(None, "invalid", "body must be a JSON object")]
        problems = [
            BodyProblem(name, "missing_field", f"missing required field {name!r}")
            for name in schema.get("required", [])
            if name not in body
        ]
        properties: dict[str, Any] = schema.get("properties", {})
        for name, value in body.items():
            if name not in properties:
                if schema.get("additionalProperties") is False:
                    problems.append(BodyProblem(name, "invalid", f"unknown field {name!r}"))
                continue
            detail = self._value_problem(self.resolve(properties[name]), value)
            if detail is not None:
                problems.append(BodyProblem(name, "invalid", f"field {name!r} {detail}"))
        return problems

    def _value_problem(self, schema: dict[str, Any], value: Any) -> str | None:
        expected = schema.get("type")
        if value is None:
            return None if schema.get("nullable") or expected is None else "must not be null"
        if isinstance(expected, str) and expected in JSON_TYPES:
            is_bool = isinstance(value, bool)
            if not isinstance(value, JSON_TYPES[expected]) or (is_bool and expected != "boolean"):
                return f"must be of type {expected}, got {type(value).__name__}"
        if "enum" in schema and value not in schema["enum"]:
            return f"must be one of {schema['enum']}, got {value!r}"
        return None

    def response_problems(self, operation_id: str, status: int, body: Any) -> list[str]:
        """Where ``body`` misses a required field or a simple type of the documented response.

        Checks nested objects and arrays too; ``oneOf``/``anyOf`` branches are not checked.
        Only the caller's fields are checked: extra fields are allowed, as in the spec.
        """
        response = self.resolve(self.operation(operation_id).responses.get(str(status)))
        if response is None:
            return [f"status {status} is not documented for {operation_id}"]
        schema = response.get("content", {}).get("application/json", {}).get("schema")
        if schema is None:
            return [] if body is None else [f"status {status} documents no body"]
        return self._deep_problems(schema, body, "$")

    def _deep_problems(self, schema: Any, value: Any, where: str) -> list[str]:
        schema = self.resolve(schema)
        if value is None:
            nullable = schema.get("nullable") or "type" not in schema
            return [] if nullable else [f"{where} is null"]
        problems: list[str] = []
        parts = [self.resolve(part) for part in schema.get("allOf", [])]
        if sum(1 for part in parts if part.get("required")) > 1:
            # GitHub's description writes "a user or an enterprise" as an allOf of two schemas
            # with disjoint required fields; no value could satisfy both, so read it as anyOf.
            found = [self._deep_problems(part, value, where) for part in parts]
            return [] if [] in found else found[0]
        for part in parts:
            problems += self._deep_problems(part, value, where)
        detail = self._value_problem(schema, value)
        if detail is not None:
            return [f"{where} {detail}"]
        if isinstance(value, dict):
            problems += [
                f"{where}.{n} is missing" for n in schema.get("required", []) if n not in value
            ]
            for name, sub in schema.get("properties", {}).items():
                if name in value:
                    problems += self._deep_problems(sub, value[name], f"{where}.{name}")
        if isinstance(value, list) and "items" in schema:
            for index, item in enumerate(value):
                problems += self._deep_problems(schema["items"], item, f"{where}[{index}]")
        return problems

    def _operation(self, template: str, method: str, item: dict[str, Any]) -> Operation:
        raw = item[method]
        parameters = [
            self.resolve(p) for p in [*item.get("parameters", []), *raw.get("parameters", [])]
        ]
        integers = frozenset(
            p["name"]
            for p in parameters
            if p["in"] == "path" and self.resolve(p.get("schema", {})).get("type") == "integer"
        )
        body = self.resolve(raw.get("requestBody"))
        body_schema = (
            None if body is None else body["content"].get("application/json", {}).get("schema")
        )
        segments = template.strip("/").split("/")
        return Operation(
            operation_id=raw["operationId"],
            method=method.upper(),
            template=template,
            pattern=_path_pattern(segments, integers),
            integer_params=integers,
            body_schema=body_schema,
            body_required=bool(body and body.get("required")),
            responses=raw.get("responses", {}),
            literal_segments=sum(1 for s in segments if not s.startswith("{")),
        )


def _path_pattern(segments: list[str], integers: frozenset[str]) -> re.Pattern[str]:
    """A regex over the raw path; a final ``{path}`` (file paths) may span segments."""
    parts: list[str] = []
    for index, segment in enumerate(segments):
        if not segment.startswith("{"):
            parts.append(re.escape(segment))
            continue
        name = segment.strip("{}")
        if name in integers:
            parts.append(rf"(?P<{name}>[0-9]+)")
        elif name == "path" and index == len(segments) - 1:
            parts.append(rf"(?P<{name}>.+)")
        else:
            parts.append(rf"(?P<{name}>[^/]+)")
    return re.compile("/" + "/".join(parts))


@cache
def default_contract() -> Contract:
    """The bot's subset of GitHub's REST description, parsed once per process."""
    spec = json.loads(SPEC_PATH.read_text(encoding="utf-8"))
    for extra in EXTRA_SPEC_PATHS:
        spec = merged_spec(spec, json.loads(extra.read_text(encoding="utf-8")))
    return Contract(spec)


def merged_spec(spec: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """``spec`` with ``extra``'s paths and components (cut from the same description, so a
    component both hold is the same; ``spec``'s is kept)."""
    components = {
        section: {**extra.get("components", {}).get(section, {}), **items}
        for section, items in spec.get("components", {}).items()
    }
    for section, items in extra.get("components", {}).items():
        components.setdefault(section, dict(items))
    return {**spec, "paths": {**spec["paths"], **extra["paths"]}, "components": components}
