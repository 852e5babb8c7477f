"""The role reader: a tool read by what its fields mean, wherever they sit and whatever they are called.

Every format that is a "function object" (OpenAI, Anthropic, MCP, Gemini, BFCL, ToolBench,
API-Bank, Gorilla, LangChain, LlamaIndex, smolagents, plugin manifests...) goes through
:func:`read_tool`. The key tables below are the whole of its knowledge; keys match
case-insensitively (ToolAlpaca writes ``Name``/``Description``).

- **name**: the first of :data:`NAME_KEYS`; the others that are present become notes.
- **description**: every one of :data:`DESCRIPTION_KEYS` present, in table order, a text
  already contained in an earlier one skipped; a title that differs from the name leads.
- **parameters**: every one of :data:`PARAMETER_KEYS` present, in any shape: a JSON Schema
  object, a dict of name -> spec (a schema, a type name or a description), a list of
  ``{name, type, description, required}`` objects or of bare names. Requiredness comes from
  the key (``required_parameters``), the schema, a top-level ``required`` list, or is unknown.
  A schema in a one-key container (``{"json": {...}}``, :func:`unwrap_schema`) is read as the
  schema. Under a key no table knows, a parameter map (:func:`is_param_map`) or an object
  schema is read as parameters too (:data:`OUTPUT_WORDS` in the key: as the returns).
- **returns**: the first of :data:`RETURN_KEYS`, cut to one line.
- **notes**: :data:`NOTE_KEYS` (domain, framework, tags, examples...), short.
- **noise**, dropped by rule: :data:`NOISE_KEYS` (example code, environment requirements,
  performance tables, licences, URLs, authentication, full documentation copies), and any
  string that is only a URL. Other string fields become short notes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from toolrank.normalize.common import clip, collapse_spaces, split_identifier
from toolrank.normalize.tool import jsonschema as js
from toolrank.normalize.tool.model import Budget, Param, Tool, scalar, text_of
from toolrank.normalize.tool.openapi import parameter_list

NAME_KEYS = ("name", "api_name", "name_for_model", "function_name", "tool_name", "function", "operationid",
             "id", "title")
TITLE_KEYS = ("title", "name_for_human", "display_name", "displayname")
DESCRIPTION_KEYS = ("description", "api_description", "tool_description", "description_for_model", "summary",
                    "functionality", "purpose", "usage", "doc", "docstring", "desc", "help", "introduction",
                    "description_for_human")
PARAMETER_KEYS: tuple[tuple[str, bool | None], ...] = (
    ("parameters", None), ("input_schema", None), ("inputschema", None), ("parametersjsonschema", None),
    ("parameters_json_schema", None), ("args_schema", None), ("fn_schema", None), ("args", None),
    ("arguments", None), ("api_arguments", None), ("input_parameters", None), ("inputs", None), ("params", None),
    ("required_parameters", True), ("optional_parameters", False),
)
"""Parameter containers, with the requiredness the key itself implies (None: from the schema or unknown)."""
RETURN_KEYS = ("returns", "return", "output_schema", "outputschema", "output_parameters", "output_type", "output",
               "outputs", "response", "responses", "template_response", "response_schema")
NOTE_KEYS = ("domain", "framework", "category", "category_name", "tags", "keywords", "examples", "api_call",
             "provider")
NOISE_KEYS = frozenset((
    "example_code", "python_environment_requirements", "performance", "license", "licence", "legal_info_url",
    "logo_url", "contact_email", "url", "urls", "home_url", "host", "link", "test_endpoint", "code", "servers",
    "schema_version", "version", "auth", "authentication", "security", "api", "documentation", "nldocumentation",
    "instances", "instructions", "function_projection", "external_tools", "pricing", "score", "strict", "type",
    "$schema", "additionalproperties", "method", "required", "capabilities", "defaultinputmodes",
    "defaultoutputmodes", "inputmodes", "outputmodes", "input_modes", "output_modes", "securityschemes",
    "supportsauthenticatedextendedcard", "protocolversion", "preferredtransport", "iconurl", "documentationurl",
    "meta", "_meta", "cache_control", "defer_loading", "is_async", "return_direct", "verbose", "handle_tool_error",
))
"""Fields dropped by rule: they cost tokens and say nothing about what the tool is for."""

MAX_NOTES = 4
MAX_NOTE_CHARS = 120
MAX_RETURN_CHARS = 100
MAX_EXAMPLES = 3
MCP_HINTS = (
    ("readonlyhint", "read-only"),
    ("destructivehint", "destructive"),
    ("idempotenthint", "idempotent"),
    ("openworldhint", "open-world"),
)
_URL = re.compile(r"^(?:https?|ftp)://\S+$|^mailto:\S+$", re.IGNORECASE)
_EMPTY = frozenset(("", "n/a", "na", "none", "null", "not provided", "-"))


def _ranks(table: tuple[str, ...]) -> dict[str, int]:
    return {key: rank for rank, key in enumerate(table)}


NAME_RANK, TITLE_RANK, DESCRIPTION_RANK = _ranks(NAME_KEYS), _ranks(TITLE_KEYS), _ranks(DESCRIPTION_KEYS)
RETURN_RANK, NOTE_RANK = _ranks(RETURN_KEYS), _ranks(NOTE_KEYS)
PARAMETER_RANK = _ranks(tuple(key for key, _ in PARAMETER_KEYS))
IMPLIED_REQUIRED = dict(PARAMETER_KEYS)


def present(keys: dict[str, str], ranks: dict[str, int]) -> list[str]:
    """The roles of one table that an object has, in table order (cost follows the object's size)."""
    found = [k for k in keys if k in ranks]
    if len(found) > 1:
        found.sort(key=ranks.__getitem__)
    return found


def field(d: Mapping[str, Any], keys: dict[str, str], role: str) -> Any:
    """The value of the key that spells ``role`` (any case), or None."""
    key = keys.get(role)
    return None if key is None else d[key]


def keymap(d: Mapping[str, Any]) -> dict[str, str]:
    """Lower-cased key -> the key as written (the first spelling wins)."""
    out: dict[str, str] = {}
    for key in d:
        if isinstance(key, str):
            out.setdefault(key.lower(), key)
    return out


def role_name(d: Mapping[str, Any], keys: dict[str, str] | None = None) -> tuple[str, str]:
    """``(name, the key it came from)``: the first non-empty string of :data:`NAME_KEYS`."""
    keys = keys if keys is not None else keymap(d)
    for role in present(keys, NAME_RANK):
        value = d[keys[role]]
        if isinstance(value, str) and value.strip():
            return collapse_spaces(value), role
    return "", ""


WEAK_NAMES = frozenset(("id", "title"))
"""Name keys that any record may carry: alone with a description they do not make a tool (``strict``)."""


def has_roles(d: Mapping[str, Any], keys: dict[str, str] | None = None, strict: bool = False) -> bool:
    """Whether ``d`` reads as a tool: a name, and a description or parameters.

    ``strict`` (deciding whether an object *sent without a kind* is a tool): a name from ``id`` or
    ``title`` counts only beside parameters, so ``{"id", "title", "description"}`` records stay records.
    """
    keys = keys if keys is not None else keymap(d)
    name, name_key = role_name(d, keys)
    if not name:
        return False
    if strict and name_key in WEAK_NAMES:
        return any(k in PARAMETER_RANK for k in keys) or _is_own_schema(d, keys)
    if any(isinstance(d[keys[k]], str) and d[keys[k]].strip() for k in keys if k in DESCRIPTION_RANK):
        return True
    if any(k in PARAMETER_RANK for k in keys) or _is_own_schema(d, keys):
        return True
    return not strict and _has_unknown_params(d, keys)


REFERENCE_KEYS = frozenset(("$defs", "definitions", "components", "annotations", "properties"))
"""Keys never read as an unknown parameter container: ``$ref`` targets (reached through the
reference), MCP annotations, and ``properties`` (a tool that is its own schema, read as such)."""

OUTPUT_WORDS = frozenset(("output", "outputs", "return", "returns", "response", "responses", "result", "results"))
"""Words that make an unknown key a description of what the tool gives back, not of its inputs."""

SCHEMA_KEYWORDS = frozenset(("schema", "items", "additionalproperties", "patternproperties", "propertynames",
                             "not", "if", "then", "else", "contains", "content", "allof", "anyof", "oneof"))
"""JSON Schema / OpenAPI structure words: alone in a mapping they make a schema node, not a parameter."""

MAX_PARAM_SPECS_CHECKED = 64
"""Values of a mapping looked at to tell a parameter map (a bound for hostile input)."""


def is_param_map(value: Any) -> bool:
    """``{name: {type and/or description...}}``: parameter name -> spec, whatever key holds it.

    Not a parameter map: one whose values are tools (a name of their own that is not the key:
    an envelope or a ``{name: tool}`` map), or a schema in a one-key container.
    """
    if not isinstance(value, Mapping) or not value or is_wrapped_schema(value):
        return False
    if len(value) == 1 and str(next(iter(value))).lower() in SCHEMA_KEYWORDS:
        return False  # {"schema": {...}}, {"items": {...}}: a schema node, not one parameter
    for key, spec in list(value.items())[:MAX_PARAM_SPECS_CHECKED]:
        if not isinstance(spec, Mapping):
            return False
        spec_keys = keymap(spec)
        if not ("type" in spec_keys or "description" in spec_keys or "$ref" in spec_keys):
            return False
        name, name_key = role_name(spec, spec_keys)
        if name and name_key not in WEAK_NAMES and name != str(key):
            return False
    return True


def is_wrapped_schema(value: Any) -> bool:
    """``{"json": {"type": "object", "properties": {...}}}``: one key holding an object schema that does not
    describe itself (a parameter spec does), like Bedrock Converse's ``inputSchema.json``."""
    if not isinstance(value, Mapping) or len(value) != 1:
        return False
    inner = next(iter(value.values()))
    if not isinstance(inner, Mapping) or not isinstance(inner.get("properties"), Mapping):
        return False
    kind = inner.get("type")
    if kind is not None and not (isinstance(kind, str) and kind.lower() in ("object", "dict")):
        return False
    return not any(isinstance(k, str) and k.lower() in ("description", "title") for k in inner)


def unwrap_schema(value: Any) -> Any:
    """The schema inside one-key containers (:func:`is_wrapped_schema`), however many."""
    for _ in range(4):
        if not is_wrapped_schema(value):
            break
        value = next(iter(value.values()))
    return value


def _unknown_keys(keys: dict[str, str], used: set[str]) -> list[str]:
    """Keys no role table knows, in the object's order (``used`` are the ones already read)."""
    return [lower for lower in keys
            if lower not in used and lower not in NOISE_KEYS and lower not in REFERENCE_KEYS
            and not lower.startswith("$") and lower not in NAME_RANK and lower not in TITLE_RANK
            and lower not in DESCRIPTION_RANK and lower not in PARAMETER_RANK and lower not in RETURN_RANK
            and lower not in NOTE_RANK]


def _is_output_key(lower: str) -> bool:
    return any(w in OUTPUT_WORDS for w in split_identifier(lower))


def _holds_params(value: Any) -> bool:
    """A parameter map, or an object schema with properties (in a one-key container or not)."""
    value = unwrap_schema(value)
    return is_param_map(value) or (is_schema(value) and isinstance(value.get("properties"), Mapping))


def _has_unknown_params(d: Mapping[str, Any], keys: dict[str, str]) -> bool:
    budget = Budget(256)  # a look, not a read: bounded on any input
    return any(not _is_output_key(k) and _holds_params(_find_params(d[keys[k]], budget))
               for k in _unknown_keys(keys, set()))


def _is_own_schema(d: Mapping[str, Any], keys: dict[str, str]) -> bool:
    """A bare JSON Schema whose own ``properties`` are the parameters (Pydantic's ``model_json_schema()``)."""
    return isinstance(d.get("properties"), Mapping) and not any(k in PARAMETER_RANK for k in keys)


def read_tool(d: Mapping[str, Any], roots: tuple[Any, ...], budget: Budget,
              keys: dict[str, str] | None = None) -> Tool:
    """Read any function-like object into a :class:`Tool` by the roles of its fields."""
    keys = keys if keys is not None else keymap(d)
    name, name_key = role_name(d, keys)
    used = {name_key} if name_key else set()
    description = _description(d, keys, name, used)
    extras: list[str] = []
    annotations = field(d, keys, "annotations")
    if isinstance(annotations, Mapping):
        ann_keys = keymap(annotations)
        if not any(k in TITLE_RANK for k in keys):
            title = text_of(field(annotations, ann_keys, "title"))
            description = _with_title(title, name, description)
        extras.extend(word for key, word in MCP_HINTS if field(annotations, ann_keys, key) is True)
    params = _params(d, keys, roots, budget, used)
    if _is_own_schema(d, keys):
        js.flatten(d, "", roots, budget, params, 0, frozenset())
        used.update(("properties", "$defs", "definitions", "type"))
    container_notes: list[str] = []
    params = dedupe(params + _unknown_params(d, keys, roots, budget, used, container_notes))
    notes = _notes(d, keys, name, used) + container_notes
    return Tool(name, description, js.required_first(params), ", ".join(extras), tuple(notes))


def _with_title(title: str, name: str, description: str) -> str:
    if title and title.lower() != name.lower() and title.lower() not in description.lower():
        return f"{title}. {description}" if description else title
    return description


def _description(d: Mapping[str, Any], keys: dict[str, str], name: str, used: set[str]) -> str:
    parts: list[str] = []
    for role in present(keys, DESCRIPTION_RANK):
        text = text_of(d[keys[role]])
        used.add(role)
        if not text or text.lower() in _EMPTY:
            continue
        if any(text.lower() in p.lower() for p in parts):
            continue
        parts = [p for p in parts if p.lower() not in text.lower()]  # a longer text containing an earlier one
        parts.append(text)
    description = " ".join(p if p.endswith((".", "!", "?")) else f"{p}." for p in parts[:-1])
    description = f"{description} {parts[-1]}".strip() if parts else ""
    for role in present(keys, TITLE_RANK):
        if role not in used:
            used.add(role)
            description = _with_title(text_of(d[keys[role]]), name, description)
    return description


def _params(d: Mapping[str, Any], keys: dict[str, str], roots: tuple[Any, ...], budget: Budget,
            used: set[str]) -> list[Param]:
    out: list[Param] = []
    top_required = field(d, keys, "required")
    required_names = {r for r in top_required[:1000] if isinstance(r, str)} if isinstance(top_required, list) else None
    for role in present(keys, PARAMETER_RANK):
        implied = IMPLIED_REQUIRED[role]
        used.add(role)
        value = unwrap_schema(d[keys[role]])
        value, stack = js.resolve(value, (value, *roots), frozenset(), budget)
        if is_schema(value):
            js.flatten(value, "", (value, *roots), budget, out, 0, stack)
        elif isinstance(value, Mapping) and value and all(isinstance(v, list) for v in value.values()):
            for group, items in value.items():  # {"required": [...], "optional": [...]}: lists by requiredness
                grouped: list[Param] = []
                parameter_list(items, (value, *roots), budget, grouped)
                out.extend(_with_required(p, _group_required(str(group), implied), required_names) for p in grouped)
        elif isinstance(value, Mapping):
            _param_map(value, implied, required_names, (value, *roots), budget, out)
        elif isinstance(value, list):
            found: list[Param] = []
            parameter_list(value, (value, *roots), budget, found)
            out.extend(_with_required(p, implied, required_names) for p in found)
        elif isinstance(value, str) and value.strip().lower() not in _EMPTY:
            for name in _names_in(value):
                out.append(_with_required(Param(name), implied, required_names))
    return dedupe(out)


def dedupe(params: list[Param]) -> list[Param]:
    """One row per path; a repeated path stays only when it brings a description the first does not hold."""
    seen: dict[str, str] = {}
    unique = []
    for p in params:
        first = seen.get(p.path)
        if first is None or (p.description and p.description.lower() not in first.lower()):
            seen[p.path] = f"{first or ''} {p.description}"
            unique.append(p)
    return unique


def _group_required(group: str, implied: bool | None) -> bool | None:
    """Requiredness a group's key says (``required``, ``optional``), else the container's."""
    words = split_identifier(group)
    if "required" in words or "mandatory" in words:
        return True
    if "optional" in words:
        return False
    return implied


def is_schema(value: Any) -> bool:
    """A JSON Schema object (``properties``, an object ``type``, ``$ref``, ``allOf``...), not a dict of parameters."""
    if not isinstance(value, Mapping):
        return False
    if any(k in value for k in ("properties", "$ref", "allOf", "anyOf", "oneOf")):
        return not isinstance(value.get("properties"), str)
    kind = value.get("type")
    return isinstance(kind, str) and kind.lower() in ("object", "dict")


def _param_map(value: Mapping[str, Any], implied: bool | None, required_names: set[str] | None,
               roots: tuple[Any, ...], budget: Budget, out: list[Param]) -> None:
    """``{name: spec}``: spec a schema, a type name, a description, or ``{type, description, required}``."""
    for key, spec in value.items():
        if not budget.spend():
            return
        name = str(key)
        required: bool | None = implied
        if required_names is not None and implied is None:
            required = name in required_names
        if isinstance(spec, Mapping):
            if spec.get("nullable") is True or spec.get("required") is False:
                required = False if required is None else required
        param = js.param(name, spec, required, roots, frozenset(), budget)  # type: ignore[arg-type]
        out.append(param)
        js.descend(spec, name, roots, budget, out, 0, frozenset())


def _unknown_params(d: Mapping[str, Any], keys: dict[str, str], roots: tuple[Any, ...], budget: Budget,
                    used: set[str], notes: list[str]) -> list[Param]:
    """Parameters under keys no table knows (``fields``, ``request_body``...): read, never dropped silently.
    A container that describes itself (a request body's ``description``) adds that as a note."""
    out: list[Param] = []
    top_required = field(d, keys, "required")
    required_names = {r for r in top_required[:1000] if isinstance(r, str)} if isinstance(top_required, list) else None
    for lower in _unknown_keys(keys, used):
        if _is_output_key(lower):
            continue  # what the tool gives back: the returns note (:func:`_notes`)
        value, stack = js.resolve(_find_params(d[keys[lower]], budget), roots, frozenset(), budget)
        if is_param_map(value):
            _param_map(value, None, required_names, (value, *roots), budget, out)
        elif is_schema(value) and isinstance(value.get("properties"), Mapping):
            js.flatten(value, "", (value, *roots), budget, out, 0, stack)
        else:
            continue
        used.add(lower)
        container = d[keys[lower]]
        if isinstance(container, Mapping) and container is not value:
            text = text_of(field(container, keymap(container), "description"))
            if text and text.lower() not in _EMPTY:
                notes.append(f"{keys[lower].replace('_', ' ')}: {clip(text, MAX_NOTE_CHARS)}")
    return out


def _find_params(value: Any, budget: Budget, depth: int = 0) -> Any:
    """The first parameter map or object schema in ``value`` (itself, or nested a few objects down:
    a request body's ``content.<media type>.schema``); ``value`` when there is none."""
    if _holds_params(value) or depth >= 4 or not isinstance(value, Mapping):
        return unwrap_schema(value)
    for key, sub in value.items():
        lower = str(key).lower()
        if not budget.spend() or lower in NOISE_KEYS or lower in REFERENCE_KEYS or _is_output_key(lower):
            continue
        if isinstance(sub, Mapping):
            found = _find_params(sub, budget, depth + 1)
            if _holds_params(found):
                return found
    return value


def _with_required(p: Param, implied: bool | None, required_names: set[str] | None) -> Param:
    required: bool | None = p.required
    if implied is not None:
        required = implied
    elif required_names is not None:
        required = p.required or p.path in required_names
    elif p.required is False:
        required = None  # a list that never says: unknown
    if required is p.required:
        return p
    return Param(p.path, p.type, required, p.enum, p.default, p.description, p.level)  # type: ignore[arg-type]


def _names_in(text: str) -> list[str]:
    """``"input_ids, attention_mask"`` -> two names; prose stays one (cut) parameter."""
    parts = [p.strip() for p in re.split(r"[,;]", text) if p.strip()]
    if parts and all(re.fullmatch(r"[\w.\-\[\]]{1,60}", p) for p in parts):
        return parts[:32]
    return [clip(collapse_spaces(text), MAX_NOTE_CHARS)]


def _notes(d: Mapping[str, Any], keys: dict[str, str], name: str, used: set[str]) -> list[str]:
    notes: list[str] = []
    output_roles = present(keys, RETURN_RANK) + [k for k in _unknown_keys(keys, used) if _is_output_key(k)
                                                  and isinstance(d[keys[k]], (Mapping, list))]
    for role in output_roles:
        if role not in used:
            used.update(RETURN_KEYS)
            used.add(role)
            line = one_line(d[keys[role]])
            if line:
                notes.append(f"returns: {clip(line, MAX_RETURN_CHARS)}")
            break
    for role in present(keys, NAME_RANK):  # names beside the one used: the tool a ToolBench API belongs to, an id
        if role not in used:
            used.add(role)
            text = text_of(d[keys[role]])
            if text and text.lower() != name.lower() and not _URL.match(text):
                notes.append(f"{role.replace('_', ' ')}: {clip(text, MAX_NOTE_CHARS)}")
    for role in present(keys, NOTE_RANK):
        used.add(role)
        line = _note_value(d[keys[role]], role)
        if line:
            notes.append(f"{role.replace('_', ' ')}: {line}")
    extra = 0
    for lower, key in keys.items():
        if lower in used or lower in NOISE_KEYS or extra >= MAX_NOTES:
            continue
        value = d[key]
        if isinstance(value, str):
            text = collapse_spaces(value)
            if text and text.lower() not in _EMPTY and not _URL.match(text):
                notes.append(f"{key.replace('_', ' ')}: {clip(text, MAX_NOTE_CHARS)}")
                extra += 1
    return notes


def _note_value(value: Any, role: str) -> str:
    if isinstance(value, list):
        items = [text_of(v) for v in value[: (MAX_EXAMPLES if role == "examples" else 16)]]
        items = [i for i in items if i and i.lower() not in _EMPTY]
        return clip(", ".join(items), MAX_NOTE_CHARS)
    text = text_of(value)
    if not text or text.lower() in _EMPTY or _URL.match(text):
        return ""
    return clip(text, MAX_NOTE_CHARS)


def one_line(value: Any, depth: int = 0) -> str:
    """A return value or response description in one short line (responses beyond it are cut)."""
    if depth > 4:
        return ""
    if isinstance(value, str):
        first = value.strip().split("\n", 1)[0]
        text = collapse_spaces(first)
        return "" if text.lower() in _EMPTY else text
    if isinstance(value, Mapping):
        keys = keymap(value)
        if "description" in keys and isinstance(value[keys["description"]], str):
            return one_line(value[keys["description"]], depth + 1)
        props = value.get("properties")
        if isinstance(props, Mapping):
            return ", ".join(str(k) for k in list(props)[:12])
        if value and all(isinstance(k, str) and (k.isdigit() or k == "default") for k in value):
            return one_line(next(iter(value.values())), depth + 1)  # responses keyed by status: the first one
        if "type" in keys and isinstance(value[keys["type"]], str) and len(value) <= 3:
            return value[keys["type"]]
        specs = list(value.items())[:12]
        if specs and all(isinstance(v, Mapping) and isinstance(v.get("description"), str) for _, v in specs):
            return "; ".join(f"{k} {collapse_spaces(v['description'])}" for k, v in specs)  # {name: {type, description}}
        return ", ".join(str(k) for k in list(value)[:12] if not str(k).startswith("$"))
    if isinstance(value, list):
        return ", ".join(filter(None, (one_line(v, depth + 1) if not isinstance(v, Mapping) else text_of(v.get("name"))
                                       for v in value[:12])))
    return scalar(value) if value is not None else ""
