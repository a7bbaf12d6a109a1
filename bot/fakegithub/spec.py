"""GitHub's published descriptions: loading, routing, validation and schema filling.

Everything here is loaded once per process (``functools.lru_cache``): the REST
description is 2 MB and takes about a second to turn into an ``openapi_core.OpenAPI``.
"""

from __future__ import annotations

import copy
import functools
import json
import os
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from multidict import CIMultiDict, MultiDict

#: Environment variable pointing at the directory holding ``rest-api.openapi.json``
#: and ``webhooks/`` (GitHub's published descriptions).
SPEC_DIR_ENV = "DLCM_GITHUB_SPEC_DIR"

#: A placeholder server URL added to the description's ``servers``: every request is
#: validated as if it were made to it, whatever port the fake listens on.
VALIDATION_BASE = "http://fakegithub.localhost"

#: Path parameters whose value may contain ``/`` (``contents/{path}``, ``git/ref/{ref}``...).
GREEDY_PARAMS = frozenset({"path", "ref", "basehead", "branch"})


def find_spec_dir() -> Path | None:
    """Locate GitHub's descriptions: ``$DLCM_GITHUB_SPEC_DIR``, else a ``shared/github``
    directory next to (or above) the current directory or this package's checkout."""
    env = os.environ.get(SPEC_DIR_ENV)
    if env:
        p = Path(env)
        return p if (p / "rest-api.openapi.json").is_file() else None
    starts = [Path.cwd(), Path(__file__).resolve().parent]
    for start in starts:
        for d in [start, *start.parents]:
            for cand in (d / "shared" / "github", d / "github"):
                if (cand / "rest-api.openapi.json").is_file():
                    return cand
    # a copy of the same published descriptions ships with the package (fresh clones, CI, the demo)
    vendored = Path(__file__).resolve().parent / "github"
    return vendored if (vendored / "rest-api.openapi.json").is_file() else None


@functools.lru_cache(maxsize=None)
def rest_document(spec_dir: str) -> dict:
    with open(Path(spec_dir) / "rest-api.openapi.json", encoding="utf-8") as f:
        return json.load(f)


@functools.lru_cache(maxsize=None)
def webhooks_document(spec_dir: str) -> dict | None:
    p = Path(spec_dir) / "webhooks" / "webhooks.openapi.json"
    if not p.is_file():
        return None
    with open(p, encoding="utf-8") as f:
        return json.load(f)


_openapi_lock = threading.Lock()


@functools.lru_cache(maxsize=None)
def _openapi_for(spec_dir: str):
    from openapi_core import OpenAPI

    doc = dict(_normalized_document(spec_dir))
    doc["servers"] = list(doc.get("servers") or []) + [{"url": VALIDATION_BASE}]
    return OpenAPI.from_dict(doc)


def _normalize_nullable(node: Any) -> Any:
    """Make GitHub's description mean what GitHub does, for openapi-core:

    * ``nullable: true`` + ``enum`` without ``null`` (``check-run.conclusion``) accepts null;
    * ``nullable: true`` next to ``oneOf``/``anyOf``/``allOf`` (``commit.author``) accepts null
      (openapi-core applies ``nullable`` only together with ``type``);
    * a ``discriminator`` over a ``oneOf`` that includes an array (``contents/{path}``) is
      dropped (openapi-core crashes on it for array instances).
    """
    if isinstance(node, list):
        for i, v in enumerate(node):
            node[i] = _normalize_nullable(v)
        return node
    if not isinstance(node, dict):
        return node
    for k in list(node):
        node[k] = _normalize_nullable(node[k])
    if node.get("nullable") is True and isinstance(node.get("enum"), list) and None not in node["enum"]:
        node["enum"] = node["enum"] + [None]
    disc = node.get("discriminator")
    if isinstance(disc, dict) and "array" in (disc.get("mapping") or {}):
        node.pop("discriminator")
    if node.get("nullable") is True and any(k in node for k in ("oneOf", "anyOf", "allOf")):
        rest = {k: v for k, v in node.items() if k != "nullable"}
        return {"anyOf": [{"enum": [None]}, rest]}
    return node


def openapi(spec_dir: str):
    """The ``openapi_core.OpenAPI`` object for the REST description (cached)."""
    with _openapi_lock:
        return _openapi_for(spec_dir)


# --------------------------------------------------------------------------- routing


@dataclass
class Route:
    template: str
    regex: re.Pattern
    params: list[str]
    literal_len: int


@dataclass
class Match:
    template: str
    params: dict[str, str]


class Router:
    """Matches concrete (raw, percent-encoded) paths against OpenAPI path templates."""

    def __init__(self, templates):
        routes = []
        for t in set(templates):
            params = re.findall(r"{([^}]+)}", t)
            pattern = ""
            for part in re.split(r"({[^}]+})", t):
                if part.startswith("{") and part.endswith("}"):
                    name = part[1:-1]
                    if name in GREEDY_PARAMS:
                        pattern += f"(?P<{_group(name)}>.+)"
                    else:
                        pattern += f"(?P<{_group(name)}>[^/]+)"
                else:
                    pattern += re.escape(part)
            literal = len(re.sub(r"{[^}]+}", "", t))
            routes.append(Route(t, re.compile("^" + pattern + "$"), params, literal))
        # most literal characters first, then fewest parameters
        routes.sort(key=lambda r: (-r.literal_len, len(r.params), r.template))
        self.routes = routes
        self.templates = {r.template for r in routes}

    def match(self, raw_path: str) -> Match | None:
        if len(raw_path) > 1 and raw_path.endswith("/"):
            raw_path = raw_path[:-1]
        for r in self.routes:
            m = r.regex.match(raw_path)
            if m:
                return Match(r.template, {p: unquote(m.group(_group(p))) for p in r.params})
        return None


def _group(name: str) -> str:
    return re.sub(r"\W", "_", name)


def template_matches(template: str, pattern: str) -> bool:
    """True when ``pattern`` names ``template`` (same text, ``{x}`` names ignored)."""
    norm = lambda s: re.sub(r"{[^}]*}", "{}", s.rstrip("/") or "/")  # noqa: E731
    return norm(template) == norm(pattern)


# --------------------------------------------------------------------------- validation


class _Request:
    """openapi-core request protocol for an already-routed request."""

    def __init__(self, method, template, path_params, query, headers, body, content_type):
        from openapi_core.datatypes import RequestParameters

        self.host_url = VALIDATION_BASE
        self.path = template
        self.path_pattern = template
        self.method = method.lower()
        self.body = body
        self.content_type = content_type or "application/json"
        q = MultiDict()
        for k, v in (query.items() if hasattr(query, "items") else query):
            q.add(k, v)
        self.parameters = RequestParameters(
            query=q, header=CIMultiDict(headers or {}), cookie=MultiDict(), path=dict(path_params)
        )


class _Response:
    def __init__(self, status, body: bytes, content_type: str, headers):
        self.status_code = status
        self.data = body or b""
        self.content_type = content_type or ""
        self.headers = CIMultiDict(headers or {})


def describe_error(exc: BaseException) -> str:
    """A readable message for an openapi-core validation error (with schema details)."""
    head = f"{type(exc).__name__}: {exc}".rstrip(": ")
    parts = []
    seen = set()
    e: BaseException | None = exc
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        for se in getattr(e, "schema_errors", ()) or ():
            parts.extend(_schema_error_lines(se))
        if not getattr(e, "schema_errors", None) and e is not exc and not parts:
            head += f" ({type(e).__name__}: {_short(str(e))})"
        e = e.__cause__ or e.__context__
    return "; ".join([_short(head)] + list(dict.fromkeys(parts))[:10])


def _short(s: str, n: int = 300) -> str:
    return s if len(s) <= n else s[: n - 3] + "..."


def _schema_error_lines(se) -> list[str]:
    loc = "/".join(str(p) for p in se.absolute_path) or "<root>"
    # descend into anyOf/oneOf failures to the most specific message
    if se.context:
        best = sorted(se.context, key=lambda c: -len(list(c.absolute_path)))[:3]
        return [f"{'/'.join(str(p) for p in c.absolute_path) or loc}: {_short(c.message, 200)}" for c in best]
    return [f"{loc}: {_short(se.message, 200)}"]


def validate_request(spec_dir, method, template, path_params, query, headers, body, content_type):
    """Returns None when valid, else an error message."""
    req = _Request(method, template, path_params, query, headers, body, content_type)
    try:
        openapi(spec_dir).validate_request(req)
    except Exception as exc:  # noqa: BLE001 - any validation failure is reported
        return describe_error(exc)
    return None


def validate_response_openapi_core(spec_dir, method, template, path_params, status, body, content_type, headers):
    """Full openapi-core response validation (slow: ~40 ms for a pull request, casting dominates)."""
    req = _Request(method, template, path_params, {}, {}, b"", "application/json")
    resp = _Response(status, body, content_type, headers)
    try:
        openapi(spec_dir).validate_response(req, resp)
    except Exception as exc:  # noqa: BLE001
        return describe_error(exc)
    return None


@functools.lru_cache(maxsize=None)
def _normalized_document(spec_dir: str) -> dict:
    doc = copy.deepcopy(rest_document(spec_dir))
    _normalize_nullable(doc)
    return doc


@functools.lru_cache(maxsize=None)
def _schema_registry(spec_dir: str):
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT4

    return Registry().with_resource("urn:github-rest", Resource.from_contents(
        _normalized_document(spec_dir), default_specification=DRAFT4))


def _pointer(*parts: str) -> str:
    return "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)


@functools.lru_cache(maxsize=4096)
def _response_body_validator(spec_dir: str, method: str, template: str, status: int):
    """(validator or None, media types) for a documented response; validators are reused."""
    from openapi_schema_validator import OAS30ReadValidator, oas30_format_checker

    op = operation(spec_dir, method, template) or {}
    key = str(status)
    resp = (op.get("responses") or {}).get(key)
    pointer = ["paths", template, method.lower(), "responses", key]
    if resp and "$ref" in resp:
        name = resp["$ref"].rsplit("/", 1)[-1]
        resp = rest_document(spec_dir)["components"]["responses"][name]
        pointer = ["components", "responses", name]
    content = (resp or {}).get("content") or {}
    media = tuple(content)
    json_media = next((m for m in media if m == "application/json" or m.endswith("+json")), None)
    if json_media is None or "schema" not in content[json_media]:
        return None, media
    ref = "urn:github-rest#/" + _pointer(*pointer, "content", json_media, "schema")
    v = OAS30ReadValidator({"$ref": ref}, registry=_schema_registry(spec_dir), format_checker=oas30_format_checker)
    return v, media


def validate_response(spec_dir, method, template, path_params, status, body, content_type, headers):
    """Validate a JSON response body against the documented schema (jsonschema-based, reusing
    one validator per operation/status; same OAS 3.0 semantics and format checks as openapi-core)."""
    validator, media = _response_body_validator(spec_dir, method, template, status)
    if validator is None:
        if media and body:
            ct = (content_type or "").split(";")[0].strip()
            if ct and ct not in media:
                return f"content type {ct!r} is not documented ({', '.join(media)})"
        return None
    try:
        data = json.loads(body) if body else None
    except ValueError as exc:
        return f"response body is not JSON: {exc}"
    errors = []
    for e in validator.iter_errors(data):
        errors.extend(_schema_error_lines(e))
        if len(errors) >= 10:
            break
    return "; ".join(dict.fromkeys(errors)) if errors else None


def operation(spec_dir: str, method: str, template: str) -> dict | None:
    doc = rest_document(spec_dir)
    return (doc.get("paths", {}).get(template) or {}).get(method.lower())


def documented_statuses(spec_dir: str, method: str, template: str) -> set[int]:
    op = operation(spec_dir, method, template) or {}
    out = set()
    for code in op.get("responses", {}):
        if code.isdigit():
            out.add(int(code))
    return out


@functools.lru_cache(maxsize=4096)
def response_schema_name(spec_dir: str, method: str, template: str, status: int) -> str | None:
    """Component name of the JSON schema documented for that response (or None)."""
    op = operation(spec_dir, method, template) or {}
    resp = (op.get("responses") or {}).get(str(status))
    if not resp:
        return None
    doc = rest_document(spec_dir)
    if "$ref" in resp:
        resp = doc["components"]["responses"][resp["$ref"].rsplit("/", 1)[-1]]
    schema = ((resp.get("content") or {}).get("application/json") or {}).get("schema") or {}
    ref = schema.get("$ref")
    return ref.rsplit("/", 1)[-1] if ref else None


# --------------------------------------------------------------------------- schema filling


class SchemaFiller:
    """Adds the *required* properties an instance lacks, with type-correct defaults.

    Works with OpenAPI 3.0 (``nullable``) and 3.1 (``type: [.., "null"]``) documents.
    Used to complete webhook payloads and rarely-read REST fields so they validate.
    """

    def __init__(self, document: dict, defaults: dict[str, Any] | None = None):
        self.doc = document
        self.defaults = defaults or {}

    def resolve(self, schema: dict) -> dict:
        seen = 0
        while isinstance(schema, dict) and "$ref" in schema and seen < 50:
            ref = schema["$ref"]
            node: Any = self.doc
            for part in ref.lstrip("#/").split("/"):
                node = node[part.replace("~1", "/").replace("~0", "~")]
            schema = node
            seen += 1
        return schema

    def component(self, name: str) -> dict:
        return self.doc["components"]["schemas"][name]

    # -- helpers
    def _types(self, s: dict) -> list:
        t = s.get("type")
        if t is None:
            return []
        return t if isinstance(t, list) else [t]

    def _nullable(self, s: dict) -> bool:
        s = self.resolve(s)
        if s.get("nullable") or "null" in self._types(s):
            return True
        if "enum" in s and None in s["enum"]:
            return True
        for k in ("anyOf", "oneOf"):
            for sub in s.get(k, ()):
                sub = self.resolve(sub)
                if "null" in self._types(sub) or sub.get("nullable"):
                    return True
        return False

    def _branch(self, s: dict, inst: Any) -> dict | None:
        branches = [self.resolve(b) for b in (s.get("oneOf") or s.get("anyOf") or [])]
        if not branches:
            return None
        if isinstance(inst, dict):
            best, score = None, None
            for b in branches:
                if "object" not in self._types(b) and "properties" not in b and "allOf" not in b:
                    continue
                props = self._all_props(b)
                req = self._all_required(b)
                sc = (sum(1 for k in inst if k in props), -sum(1 for k in req if k not in inst))
                if score is None or sc > score:
                    best, score = b, sc
            return best
        return None

    def _all_props(self, s: dict) -> dict:
        s = self.resolve(s)
        props = dict(s.get("properties", {}))
        for sub in s.get("allOf", ()):
            props.update(self._all_props(sub))
        return props

    def _all_required(self, s: dict) -> list:
        s = self.resolve(s)
        req = list(s.get("required", []))
        for sub in s.get("allOf", ()):
            req += self._all_required(sub)
        return req

    def fill(self, schema: dict, inst: Any, depth: int = 0) -> Any:
        if depth > 25 or inst is None:
            return inst
        s = self.resolve(schema)
        if not isinstance(s, dict):
            return inst
        if ("oneOf" in s or "anyOf" in s) and isinstance(inst, dict):
            b = self._branch(s, inst)
            if b is not None:
                inst = self.fill(b, inst, depth + 1)
        if isinstance(inst, dict):
            props = self._all_props(s)
            for k in self._all_required(s):
                if k not in inst:
                    inst[k] = self.default(props.get(k, {}), k, depth + 1)
            for k, v in list(inst.items()):
                if k in props:
                    inst[k] = self.fill(props[k], v, depth + 1)
        elif isinstance(inst, list):
            items = s.get("items")
            if isinstance(items, dict):
                inst = [self.fill(items, x, depth + 1) for x in inst]
        return inst

    def default(self, schema: dict, name: str = "", depth: int = 0) -> Any:
        s = self.resolve(schema)
        if not isinstance(s, dict):
            return None
        if name in self.defaults and not isinstance(self.defaults[name], dict):
            return copy.deepcopy(self.defaults[name])
        if self._nullable(s):
            return None
        if "enum" in s and s["enum"]:
            return s["enum"][0]
        if "default" in s:
            return copy.deepcopy(s["default"])
        if "const" in s:
            return s["const"]
        if "allOf" in s:
            return self.fill(s, {}, depth + 1) if self._all_props(s) else None
        if "oneOf" in s or "anyOf" in s:
            branches = s.get("oneOf") or s.get("anyOf")
            return self.default(branches[0], name, depth + 1)
        types = [t for t in self._types(s) if t != "null"]
        t = types[0] if types else ("object" if "properties" in s else "string")
        if t == "object":
            return self.fill(s, {}, depth + 1)
        if t == "array":
            return []
        if t == "integer":
            return max(0, int(s.get("minimum", 0)))
        if t == "number":
            return 0
        if t == "boolean":
            return False
        fmt = s.get("format")
        if fmt == "date-time":
            return "2024-01-01T00:00:00Z"
        if fmt == "date":
            return "2024-01-01"
        if fmt in ("uri", "url"):
            return self.defaults.get("__uri__", "https://github.com/")
        if fmt == "email":
            return "noreply@github.com"
        return ""


@functools.lru_cache(maxsize=None)
def rest_filler(spec_dir: str) -> SchemaFiller:
    return SchemaFiller(rest_document(spec_dir))


@functools.lru_cache(maxsize=None)
def webhook_filler(spec_dir: str) -> SchemaFiller | None:
    doc = webhooks_document(spec_dir)
    return SchemaFiller(doc) if doc else None


def webhook_schema_ref(spec_dir: str, event: str, action: str | None) -> dict | None:
    """The request-body schema of a webhook (``pull_request``, ``opened``)."""
    doc = webhooks_document(spec_dir)
    if not doc:
        return None
    key = event.replace("_", "-") + ("-" + action.replace("_", "-") if action else "")
    hook = doc.get("webhooks", {}).get(key)
    if not hook:
        return None
    return hook["post"]["requestBody"]["content"]["application/json"]["schema"]


@functools.lru_cache(maxsize=None)
def _webhook_registry(spec_dir: str):
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012

    doc = webhooks_document(spec_dir)
    return Registry().with_resource("urn:github-webhooks", Resource.from_contents(doc, default_specification=DRAFT202012))


def validate_webhook_payload(event: str, action: str | None, payload: dict, spec_dir: str | None = None) -> list[str]:
    """Validate a webhook body against webhooks.openapi.json with jsonschema.

    Returns a list of error messages (empty when valid). Raises LookupError when the
    description is not available or does not describe that event/action.
    """
    from jsonschema import Draft202012Validator

    spec_dir = spec_dir or str(find_spec_dir() or "")
    schema = webhook_schema_ref(spec_dir, event, action) if spec_dir else None
    if schema is None:
        raise LookupError(f"no webhook schema for {event}.{action}")
    ref = schema["$ref"] if "$ref" in schema else None
    root = {"$ref": "urn:github-webhooks" + ref} if ref else schema
    v = Draft202012Validator(root, registry=_webhook_registry(spec_dir))
    errs = []
    for e in v.iter_errors(payload):
        loc = "/".join(str(p) for p in e.absolute_path)
        errs.append(f"{loc or '<root>'}: {e.message[:300]}")
    return errs


@functools.lru_cache(maxsize=None)
def example_files(spec_dir: str) -> dict[str, list[Path]]:
    """``{"pull_request.opened": [Path, ...]}`` for the published example payloads."""
    d = Path(spec_dir) / "webhooks" / "examples"
    out: dict[str, list[Path]] = {}
    if not d.is_dir():
        return out
    for p in sorted(d.glob("*.json")):
        parts = p.name[:-5].split(".")
        if parts and parts[-1].isdigit():
            parts = parts[:-1]
        out.setdefault(".".join(parts), []).append(p)
    for v in out.values():  # the un-numbered file first
        v.sort(key=lambda p: (p.name.count("."), p.name))
    return out


@functools.lru_cache(maxsize=None)
def _load_example(path: str) -> dict:
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def load_example(spec_dir: str | None, event: str, action: str | None, index: int = 0) -> dict | None:
    if not spec_dir:
        return None
    files = example_files(spec_dir).get(event + (f".{action}" if action else ""))
    if not files:
        return None
    return copy.deepcopy(_load_example(str(files[min(index, len(files) - 1)])))


@dataclass
class SpecInfo:
    """Where the descriptions live (or None when they could not be found)."""

    spec_dir: str | None
    templates: set[str] = field(default_factory=set)
