"""OpenAPI 3 and Swagger 2: whole documents (one :class:`Tool` per operation) and single operations."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from toolrank.normalize.tool import jsonschema as js
from toolrank.normalize.tool.model import Budget, Param, Tool, text_of

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")

STATUS_KEYS = frozenset({"default", "1XX", "2XX", "3XX", "4XX", "5XX"})


def is_document(d: Mapping[str, Any]) -> bool:
    """An OpenAPI/Swagger document: ``paths`` plus a version key, or paths that are URL templates."""
    paths = d.get("paths")
    if not isinstance(paths, dict):
        return False
    if "openapi" in d or "swagger" in d:
        return True
    return bool(paths) and all(isinstance(k, str) and k.startswith("/") for k in list(paths)[:16])


def is_operation(d: Mapping[str, Any]) -> bool:
    """An operation object, and not a dataset record that merely has ``parameters`` and ``responses``.

    It has no ``name``-like key, its ``parameters`` (if any) are a list, and it carries an
    ``operationId``, a ``requestBody``, or ``responses`` keyed by status codes.
    """
    if any(k in d for k in ("name", "api_name", "tool_name", "function")):
        return False
    params = d.get("parameters")
    if params is not None and not isinstance(params, list):
        return False
    if isinstance(d.get("operationId"), str) or isinstance(d.get("requestBody"), dict):
        return True
    responses = d.get("responses")
    return (isinstance(responses, dict) and bool(responses)
            and all(_is_status(k) for k in list(responses)[:16])
            and (isinstance(params, list) or isinstance(d.get("summary"), str)))


def _is_status(key: Any) -> bool:
    return isinstance(key, str) and (key in STATUS_KEYS or (len(key) == 3 and key.isdigit()))


def operations(doc: Mapping[str, Any], budget: Budget) -> list[Tool]:
    """Every operation of a document, in document order."""
    tools: list[Tool] = []
    for _, _, tool in operation_items(doc, budget):
        tools.append(tool)
    return tools


def operation_items(doc: Mapping[str, Any], budget: Budget) -> list[tuple[str, str, Tool]]:
    """``(method, path, Tool)`` for every operation of a document."""
    items: list[tuple[str, str, Tool]] = []
    paths = doc.get("paths")
    if not isinstance(paths, dict):
        return items
    for path, item in paths.items():
        if not budget.spend():
            break
        item, _ = js.resolve(item, (doc,), frozenset(), budget)
        if not isinstance(item, Mapping):
            continue
        shared = item.get("parameters")
        shared = tuple(shared) if isinstance(shared, list) else ()
        for method in HTTP_METHODS:
            op = item.get(method)
            if isinstance(op, dict):
                items.append((method, str(path), operation(op, method, str(path), shared, doc, budget)))
    return items


def operation(
    op: Mapping[str, Any], method: str, path: str, shared: tuple[Any, ...], doc: Any, budget: Budget
) -> Tool:
    """One OpenAPI operation: operationId, summary, description, parameters, requestBody."""
    roots = (doc,)
    summary = text_of(op.get("summary"))
    description = text_of(op.get("description"))
    if summary and description and not description.lower().startswith(summary.lower().rstrip(".")):
        description = f"{summary.rstrip('.')}. {description}"
    elif summary and not description:
        description = summary
    name = text_of(op.get("operationId")) or (f"{method.upper()} {path}".strip() if path else summary)
    extra = f"{method.upper()} {path}" if method and path and name != f"{method.upper()} {path}" else ""
    params: list[Param] = []
    own = op.get("parameters")
    parameter_list([*shared, *(own if isinstance(own, list) else ())], roots, budget, params)
    body, stack = js.resolve(op.get("requestBody"), roots, frozenset(), budget)
    if isinstance(body, Mapping):
        schema = body_schema(body.get("content"))
        if schema is not None:
            _body(schema, body.get("required") is True, roots, stack, budget, params)
    return Tool(name, description, js.required_first(params), extra)


def _body(
    schema: Any, required: bool, roots: tuple[Any, ...], stack: frozenset[str], budget: Budget, out: list[Param]
) -> None:
    """A request body: an object schema's properties as parameters, anything else as one ``body`` parameter."""
    if js.has_properties(schema, roots, stack, budget):
        js.flatten(schema, "", roots, budget, out, 0, stack)
        return
    out.append(js.param("body", schema, required, roots, stack, budget))
    js.descend(schema, "body", roots, budget, out, 0, stack)


def body_schema(content: Any) -> Any:
    """The schema of a ``requestBody.content`` map, ``application/json`` first."""
    if not isinstance(content, Mapping) or not content:
        return None
    media = content.get("application/json")
    if not isinstance(media, Mapping):
        media = next((m for m in content.values() if isinstance(m, Mapping)), None)
    return media.get("schema") if isinstance(media, Mapping) else None


def parameter_list(items: Iterable[Any], roots: tuple[Any, ...], budget: Budget, out: list[Param]) -> None:
    """Parameter objects (``name``, ``in``, ``required``, ``schema`` or inline ``type``).

    OpenAPI/Swagger parameters, and the same list shape in other formats (ToolBench's
    ``required_parameters``, LangChain-style ``[{name, type, description, required}]``).
    """
    seen: set[str] = set()
    for raw in items:
        if not budget.spend():
            break
        item, stack = js.resolve(raw, roots, frozenset(), budget)
        if not isinstance(item, Mapping):
            if isinstance(raw, str) and raw.strip() and raw not in seen:  # a bare parameter name
                seen.add(raw)
                out.append(Param(text_of(raw)))
            continue
        name = text_of(item.get("name"))
        if not name or name in seen:
            continue
        seen.add(name)
        schema = item.get("schema")  # a Swagger 2 body parameter too: its name and description, then its fields
        if not isinstance(schema, Mapping):
            schema = item  # Swagger 2: type/enum/default on the parameter itself
        param = js.param(name, schema, item.get("required") is True, roots, stack, budget)
        own = text_of(item.get("description"))
        if own and not param.description:
            param = Param(param.path, param.type, param.required, param.enum, param.default, own, 0)
        out.append(param)
        js.descend(schema, name, roots, budget, out, 0, stack)
