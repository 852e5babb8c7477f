"""JSON Schema: ``$ref`` resolution and the flattening of object schemas into :class:`Param` rows.

Nested objects become dotted paths (``filter.owner.name``, ``items[].id``); ``$ref`` resolves
inside the document (``#/$defs/X``, ``#/components/schemas/X``...), with cycles cut; ``allOf``
parts merge. Every walk spends the shared :class:`Budget`.
"""

from __future__ import annotations

from collections import ChainMap
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote

from toolrank.normalize.tool.model import Budget, Param, scalar, short_value, text_of

MAX_DEPTH = 6
"""Nested object levels flattened into dotted parameter paths."""

MAX_REF_HOPS = 16
"""``$ref`` hops followed from one schema node (chains of refs to refs)."""

MAX_ENUM = 8
"""Enum values shown per parameter; more are elided."""

TYPE_ALIASES = {"dict": "object", "str": "string", "int": "integer", "bool": "boolean", "list": "array"}
"""Python-flavoured type names (BFCL, API-Bank, smolagents) as JSON Schema's (``float`` stays: it says more)."""


def resolve(node: Any, roots: tuple[Any, ...], stack: frozenset[str], budget: Budget) -> tuple[Any, frozenset[str]]:
    """Follow ``$ref`` (siblings override the target); a ref already on ``stack`` is a cycle: not followed."""
    for _ in range(MAX_REF_HOPS):
        if not isinstance(node, Mapping):
            return node, stack
        ref = node.get("$ref")
        if not isinstance(ref, str) or ref in stack or not budget.spend():
            return node, stack
        target = lookup(ref, roots)
        if not isinstance(target, Mapping):
            return node, stack
        stack = stack | {ref}
        siblings = {k: v for k, v in node.items() if k != "$ref"} if len(node) <= 64 else {}
        node = ChainMap(siblings, target) if siblings else target  # type: ignore[arg-type]  # read, never written
    return node, stack


def lookup(ref: str, roots: tuple[Any, ...]) -> Any:
    """A local JSON pointer (``#/$defs/X``, ``#/components/schemas/X``) in the first root that has it."""
    if not ref.startswith("#"):
        return None
    parts = [unquote(p).replace("~1", "/").replace("~0", "~") for p in ref[1:].split("/")[1:]]
    if len(parts) > 32:
        return None
    for root in roots:
        node: Any = root
        for part in parts:
            if isinstance(node, Mapping) and part in node:
                node = node[part]
            elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
                node = node[int(part)]
            else:
                node = None
                break
        if node is not None:
            return node
    return None


def ref_name(node: Any) -> str:
    ref = node.get("$ref") if isinstance(node, Mapping) else None
    return ref.rstrip("/").rsplit("/", 1)[-1] if isinstance(ref, str) else ""


def properties(
    schema: Mapping[str, Any], roots: tuple[Any, ...], stack: frozenset[str], budget: Budget
) -> tuple[list[tuple[str, Any]], set[str]]:
    """Properties and required names of an object schema, ``allOf`` parts merged in."""
    props: dict[str, Any] = {}
    required: set[str] = set()
    parts: list[Any] = [schema]
    all_of = schema.get("allOf")
    if isinstance(all_of, list):
        for part in all_of[:16]:
            resolved, _ = resolve(part, roots, stack, budget)
            if isinstance(resolved, Mapping):
                parts.append(resolved)
    for part in parts:
        own = part.get("properties")
        if isinstance(own, Mapping):
            for key, sub in own.items():
                if not budget.spend():
                    break
                props.setdefault(str(key), sub)
        req = part.get("required")
        if isinstance(req, list):
            required.update(r for r in req[:1000] if isinstance(r, str))
    return list(props.items()), required


def has_properties(schema: Any, roots: tuple[Any, ...], stack: frozenset[str], budget: Budget) -> bool:
    """Whether ``schema`` (after ``$ref``) is an object schema with at least one property."""
    resolved, inner = resolve(schema, roots, stack, budget)
    return isinstance(resolved, Mapping) and bool(properties(resolved, roots, inner, budget)[0])


def flatten(
    schema: Any,
    prefix: str,
    roots: tuple[Any, ...],
    budget: Budget,
    out: list[Param],
    depth: int,
    stack: frozenset[str],
) -> None:
    """Append one Param per property of an object schema, then its nested fields, depth-first."""
    if depth > MAX_DEPTH or not budget.spend():
        return
    schema, stack = resolve(schema, roots, stack, budget)
    if not isinstance(schema, Mapping):
        return
    props, required = properties(schema, roots, stack, budget)
    for key, sub in props:
        if budget.left <= 0:
            return
        path = f"{prefix}.{key}" if prefix else key
        out.append(param(path, sub, key in required, roots, stack, budget, depth))
        descend(sub, path, roots, budget, out, depth, stack)


def descend(
    sub: Any,
    path: str,
    roots: tuple[Any, ...],
    budget: Budget,
    out: list[Param],
    depth: int,
    stack: frozenset[str],
) -> None:
    """Flatten the fields of an object-valued (or array-of-objects) parameter under ``path``."""
    if depth >= MAX_DEPTH:
        return
    resolved, inner = resolve(sub, roots, stack, budget)
    if not isinstance(resolved, Mapping):
        return
    if "properties" in resolved or "allOf" in resolved:
        flatten(resolved, path, roots, budget, out, depth + 1, inner)
        return
    items, item_stack = resolve(resolved.get("items"), roots, inner, budget)
    if isinstance(items, Mapping) and ("properties" in items or "allOf" in items):
        flatten(items, f"{path}[]", roots, budget, out, depth + 1, item_stack)
        return
    for key in ("anyOf", "oneOf"):  # Optional[Model] and unions: the fields of each object alternative
        options = resolved.get(key)
        if isinstance(options, list):
            for option in options[:8]:
                descend(option, path, roots, budget, out, depth, inner)


def param(
    path: str,
    sub: Any,
    required: bool,
    roots: tuple[Any, ...],
    stack: frozenset[str],
    budget: Budget,
    level: int = 0,
) -> Param:
    """One property's row: type, requiredness, enum (cut at :data:`MAX_ENUM`), default, description."""
    resolved, inner = resolve(sub, roots, stack, budget)
    if not isinstance(resolved, Mapping):
        # ``{"city": "string"}`` or ``{"city": "The city name"}``: a type name or a description.
        text = scalar(resolved) if isinstance(resolved, str) else ""
        if text and " " not in text and text.lower() in KNOWN_TYPES:
            return Param(path, TYPE_ALIASES.get(text.lower(), text.lower()), required, level=level)
        return Param(path, "", required, description=text, level=level)
    if resolved.get("required") is True:  # Swagger 2 / some dialects: a boolean on the property
        required = True
    if resolved.get("optional") is True:  # BFCL
        required = False
    enum = resolved.get("enum")
    values: tuple[str, ...] = ()
    if isinstance(enum, list):
        values = tuple(short_value(v) for v in enum[:MAX_ENUM]) + (("...",) if len(enum) > MAX_ENUM else ())
    elif "const" in resolved:
        values = (short_value(resolved.get("const")),)
    default = short_value(resolved["default"]) if resolved.get("default", "") != "" else None  # "": none given
    description = text_of(resolved.get("description")) or text_of(resolved.get("title"))
    return Param(path, schema_type(resolved, roots, inner, budget, 0), required, values, default, description, level)


KNOWN_TYPES = frozenset(
    "string integer number boolean object array null any str int float bool dict list tuple".split()
)


def schema_type(schema: Any, roots: tuple[Any, ...], stack: frozenset[str], budget: Budget, depth: int) -> str:
    """A short type name: ``string``, ``array of integer``, ``string|integer``, ``Node`` (a cut cycle)."""
    if depth > 3:
        return ""
    cut = ref_name(schema)
    schema, stack = resolve(schema, roots, stack, budget)
    if not isinstance(schema, Mapping):
        return ""
    if "$ref" in schema and cut:  # a cycle or an unresolvable ref: name the referenced type
        return cut
    raw = schema.get("type")
    names: list[str] = []
    if isinstance(raw, str):
        names = [raw]
    elif isinstance(raw, list):
        names = [t for t in raw[:8] if isinstance(t, str)]
    if not names:
        for key in ("anyOf", "oneOf"):
            options = schema.get(key)
            if isinstance(options, list):
                names = [schema_type(o, roots, stack, budget, depth + 1) for o in options[:8]]
                break
    names = [TYPE_ALIASES.get(n.lower(), n.lower()) for n in names if n]
    if len(names) > 1:
        names = [n for n in names if n != "null"] or names
    names = list(dict.fromkeys(names))
    if not names:
        if "properties" in schema:
            names = ["object"]
        elif isinstance(schema.get("items"), Mapping):
            names = ["array"]
    if names == ["array"]:
        inner = schema_type(schema.get("items"), roots, stack, budget, depth + 1)
        if inner and inner != "array":
            return f"array of {inner}"
    fmt = schema.get("format")
    text = "|".join(names)
    if isinstance(fmt, str) and fmt and len(fmt) <= 24 and text in ("string", "integer", "number"):
        text = f"{text} {fmt}"
    return text


def required_first(params: list[Param]) -> tuple[Param, ...]:
    """Top-level required parameters (with their nested fields) before optional ones; stable."""
    groups: list[tuple[bool, list[Param]]] = []
    for p in params:
        if p.level == 0 or not groups:
            groups.append((p.required, [p]))
        else:
            groups[-1][1].append(p)
    ordered = [g for req, g in groups if req] + [g for req, g in groups if not req]
    return tuple(p for g in ordered for p in g)
