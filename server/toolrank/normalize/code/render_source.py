"""The source itself, in its order, minus noise: what the model reads best when it fits the budget."""

from __future__ import annotations

from toolrank.normalize.code.text import PRAGMA, TOKENS, block_comment, clean_comment, dedupe, is_licence_notice, short_string
from toolrank.normalize.code.walk import Facts, find_name_node, header_comments
from toolrank.normalize.common import collapse_spaces, words_of


def source_text(facts: Facts) -> str:
    """The source itself, in order, with only the noise taken out."""
    data = facts.data
    edits: list[tuple[int, int, str]] = []
    header = header_comments(facts)
    for comment in facts.comments:
        raw = data[comment.start_byte : comment.end_byte].decode("utf-8", "replace")
        if comment.start_byte == 0 and raw.startswith("#!"):
            edits.append((comment.start_byte, comment.end_byte, ""))
            continue
        cleaned = clean_comment(raw)
        if not cleaned or is_licence_notice(cleaned, comment.start_byte in header) or PRAGMA.search(cleaned):
            edits.append((comment.start_byte, comment.end_byte, ""))
        elif "\n" in raw.strip():
            ending = "\n" if raw.endswith("\n") else ""
            edits.append((comment.start_byte, comment.end_byte, block_comment(raw) + ending))
    for node in facts.long_strings:
        literal = data[node.start_byte : node.end_byte].decode("utf-8", "replace")
        edits.append((node.start_byte, node.end_byte, short_string(literal)))
    seen: set[str] = set()
    for (start, end), text in zip(facts.import_ranges, facts.imports):
        key = collapse_spaces(text)
        if key in seen:
            edits.append((start, end, ""))
        seen.add(key)
    edits.sort()
    pieces: list[str] = []
    position = 0
    for start, end, replacement in edits:
        if start < position:
            continue
        pieces.append(data[position:start].decode("utf-8", "replace"))
        pieces.append(replacement)
        position = end
    pieces.append(data[position:].decode("utf-8", "replace"))
    lines = [collapse_spaces(line) for line in "".join(pieces).split("\n")]
    code = "\n".join(line for line in lines if line)
    words = name_words(facts)
    return f"{code}\n{words}" if words and code else code


def name_words(facts: Facts) -> str:
    """Definition names whose words a tokenizer would not find on its own (camelCase)."""
    rules = facts.rules
    names: list[str] = []
    for definition in facts.definitions:
        node = find_name_node(definition.node, rules)
        if node is None:
            continue
        name = facts.data[node.start_byte : node.end_byte].decode("utf-8", "replace")
        if len(name) > 80 or not TOKENS.fullmatch(name):
            continue
        words = words_of(name)
        if not words:
            continue
        if words == name.strip("_$").lower().replace("_", " "):
            continue
        names.append(words)
    return ", ".join(dedupe(names))
