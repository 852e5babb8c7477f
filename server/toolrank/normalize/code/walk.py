"""Reading a tree-sitter tree: grammars and parsers, then one walk collecting the facts both renderings use."""

from __future__ import annotations

import importlib
import re
import threading
from dataclasses import dataclass, field
from typing import Any, Optional

from toolrank.normalize.code.languages import BY_NAME, CLASS, FUNCTION, IMPL, INTERFACE, METHOD, STRUCT, TRAIT, LanguageRules
from toolrank.normalize.code.text import MAX_STRING_CHARS, QUOTES
from toolrank.normalize.common import collapse_spaces

MAX_NODES = 20_000  # syntax nodes visited per snippet
MAX_CALLEE_CHARS = 48  # longer callee expressions keep their last name only
MAX_DECLARATOR_DEPTH = 8

OWNER_KINDS = frozenset({CLASS, INTERFACE, STRUCT, TRAIT, IMPL})
LAST_NAME = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*[?!]?")
_SELF_PREFIX = re.compile(r"^(self|this|\$this|cls|super|@)(\.|->|::)?")

_LANGUAGES: dict[str, Any] = {}
_LANGUAGES_LOCK = threading.Lock()
_LOCAL = threading.local()  # tree-sitter parsers are not thread-safe: one per thread


def grammar(name: str) -> Any:
    with _LANGUAGES_LOCK:
        if name not in _LANGUAGES:
            from tree_sitter import Language

            rules = BY_NAME[name]
            module = importlib.import_module(rules.module)
            _LANGUAGES[name] = Language(getattr(module, rules.loader)())
        return _LANGUAGES[name]


def parser_for(name: str) -> Any:
    """This thread's parser for ``name``, built on first use; None if unavailable."""
    parsers = getattr(_LOCAL, "parsers", None)
    if parsers is None:
        parsers = _LOCAL.parsers = {}
    if name not in parsers:
        try:
            from tree_sitter import Parser

            parsers[name] = Parser(grammar(name))
        except Exception:  # noqa: BLE001 - a missing grammar means fallback
            parsers[name] = None
    return parsers[name]


@dataclass
class Definition:
    node: Any
    kind: str


@dataclass
class Facts:
    """What a walk found, before rendering."""

    rules: LanguageRules
    data: bytes
    definitions: list[Definition]
    comments: list[Any]
    docstrings: dict[int, Any]  # definition start byte -> docstring node
    module_doc: Any
    decorators: list[Any]
    calls: list[str]
    imports: list[str]
    strings: list[str]
    identifiers: list[str]
    elided: list[tuple[int, int]]
    truncated: bool
    import_ranges: list[tuple[int, int]] = field(default_factory=list)
    long_strings: list[Any] = field(default_factory=list)  # string nodes longer than MAX_STRING_CHARS


class Walker:
    """One iterative pre-order walk collecting definitions, calls, imports and the rest."""

    def __init__(self, rules: LanguageRules, data: bytes) -> None:
        self.rules = rules
        self.data = data

    def text(self, node: Any) -> str:
        return self.data[node.start_byte : node.end_byte].decode("utf-8", "replace")

    def walk(self, root: Any) -> Facts:
        rules = self.rules
        facts = Facts(rules, self.data, [], [], {}, None, [], [], [], [], [], [], False)
        consumed: set[int] = set()
        if rules.docstring_in_body:
            doc = first_string_statement(root)
            if doc is not None:
                facts.module_doc = doc
                consumed.add(doc.start_byte)
        stack: list[tuple[Any, Optional[str]]] = [(root, None)]
        visited = 0
        while stack:
            node, owner = stack.pop()
            visited += 1
            if visited > MAX_NODES:
                facts.truncated = True
                break
            kind = node.type
            if kind in rules.comments:
                facts.comments.append(node)
                facts.elided.append((node.start_byte, node.end_byte))
                continue
            if kind in rules.strings:
                if node.start_byte not in consumed:
                    self._string(node, facts)
                else:
                    facts.elided.append((node.start_byte, node.end_byte))
                continue
            if kind in rules.imports:
                facts.imports.append(self.text(node))
                facts.import_ranges.append((node.start_byte, node.end_byte))
                continue
            if kind in rules.identifiers:
                facts.identifiers.append(self.text(node))
                continue
            if kind in rules.decorators:
                facts.decorators.append(node)
            definition = self._definition(node, kind, owner)
            if definition is not None:
                facts.definitions.append(definition)
                owner = definition.kind
                if rules.docstring_in_body:
                    body = field_of(node, rules.body_fields)
                    doc = first_string_statement(body) if body is not None else None
                    if doc is not None:
                        facts.docstrings[node.start_byte] = doc
                        consumed.add(doc.start_byte)
            fields = rules.calls.get(kind)
            if fields is not None:
                callee = self._callee(node, fields)
                if callee:
                    facts.calls.append(callee)
            if kind == "ERROR":
                self._error_calls(node, facts)
            children = node.named_children
            for child in reversed(children):
                stack.append((child, owner))
        facts.elided.sort()
        return facts

    def _definition(self, node: Any, kind: str, owner: Optional[str]) -> Optional[Definition]:
        rules = self.rules
        label = rules.definitions.get(kind)
        if label is None:
            assigned = rules.assigned_functions.get(kind)
            if assigned is None:
                return None
            value = node.child_by_field_name(assigned[1])
            if value is None or value.type not in assigned[2]:
                return None
            label = FUNCTION
        if kind in rules.body_required and field_of(node, rules.body_fields) is None:
            return None
        if label == FUNCTION and owner in OWNER_KINDS:
            label = METHOD
        return Definition(node, label)

    def _string(self, node: Any, facts: Facts) -> None:
        text = self.text(node)
        inner = collapse_spaces(QUOTES.sub("", text.strip()))
        if len(text) > MAX_STRING_CHARS:
            facts.elided.append((node.start_byte, node.end_byte))
            facts.long_strings.append(node)
        if 1 < len(inner) <= MAX_STRING_CHARS and any(c.isalpha() for c in inner):
            facts.strings.append(inner)

    def _error_calls(self, node: Any, facts: Facts) -> None:
        """In a region tree-sitter could not parse, a name followed by ``(`` is a call."""
        children = node.children
        for child, following in zip(children, children[1:]):
            if child.is_named and following.type == "(" and child.end_byte - child.start_byte <= MAX_CALLEE_CHARS:
                text = _SELF_PREFIX.sub("", collapse_spaces(self.text(child)))
                if simple_name(text):
                    facts.calls.append(text)

    def _callee(self, node: Any, fields: tuple[str, ...]) -> str:
        parts = [node.child_by_field_name(name) for name in fields]
        present = [part for part in parts if part is not None]
        if not present:
            return ""
        if len(fields) > 1 and len(present) == 2:
            receiver, method = (self.text(part) for part in present)
            text = f"{receiver}.{method}" if simple_name(receiver) else method
        else:
            text = self.text(present[-1])
        text = _SELF_PREFIX.sub("", collapse_spaces(text))
        if len(text) > MAX_CALLEE_CHARS or not simple_name(text):
            names = LAST_NAME.findall(text)
            text = names[-1] if names else ""
        return text


def simple_name(text: str) -> bool:
    """A dotted/scoped name without calls, indexing or spaces."""
    return bool(text) and len(text) <= MAX_CALLEE_CHARS and re.fullmatch(r"[\w$@:.\->\\?!]+", text) is not None


def field_of(node: Any, names: tuple[str, ...]) -> Any:
    for name in names:
        child = node.child_by_field_name(name)
        if child is not None:
            return child
    return None


def first_string_statement(block: Any) -> Any:
    """The docstring: a string that is the first statement of a block."""
    for child in block.named_children:
        if child.type == "comment":
            continue
        if child.type == "expression_statement" and child.named_child_count == 1:
            inner = child.named_children[0]
            if inner.type in ("string", "concatenated_string"):
                return inner
        return None
    return None


def end_row(node: Any) -> int:
    """The last row a node covers (a comment ending with its newline ends on the row before)."""
    row, column = node.end_point
    return row - 1 if column == 0 and row > node.start_point[0] else row


def find_name_node(node: Any, rules: LanguageRules) -> Any:
    name = field_of(node, rules.name_fields)
    if name is not None:
        return name
    declarator = node.child_by_field_name("declarator")
    for _ in range(MAX_DECLARATOR_DEPTH):
        if declarator is None:
            return None
        inner = declarator.child_by_field_name("declarator")
        if inner is None:
            return declarator
        declarator = inner
    return declarator


def header_comments(facts: "Facts") -> set[int]:
    """Start bytes of the comments before the first code of the file (licence and file headers sit there)."""
    starts: set[int] = set()
    position = 0
    for comment in facts.comments:  # in document order: the walk is pre-order
        if facts.data[position : comment.start_byte].strip():
            break
        starts.add(comment.start_byte)
        position = comment.end_byte
    return starts
