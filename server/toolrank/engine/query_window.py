"""Fit a long request into the model's query window, keeping the part that carries the request.

Why: agents paste logs, stack traces and earlier turns into the request. A model reads a
window of a few hundred tokens; cutting the end off (what a tokenizer does) keeps the paste
and drops the question, which usually comes last ("... can you file a bug for this?").

Strategies (``bench/long_requests.py`` measures them; :data:`DEFAULT_STRATEGY` is the winner):
  * ``head``: the first tokens (what truncation gives);
  * ``tail``: the last tokens;
  * ``head_tail``: a quarter of the window from the start, the rest from the end;
  * ``request``: the sentence that reads most like a request (an imperative verb first,
    "please"/"can you", a question mark; the last and first sentences; in a transcript the last
    ``User:`` turn, then other user turns, never an ``Assistant:`` one; not a log or code line),
    with the rest of its line around it as far as it fits; pasted material and earlier turns are
    left out.
Pure functions of the text and a tokenizer; deterministic.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Sequence

from toolrank.engine.steps import _opens_request, _words
from toolrank.models.loader import LoadedModel
from toolrank.types import BI_ENCODER

HEAD, TAIL, HEAD_TAIL, REQUEST = "head", "tail", "head_tail", "request"
STRATEGIES = (HEAD, TAIL, HEAD_TAIL, REQUEST)
DEFAULT_STRATEGY = REQUEST

Tokenize = Callable[[list[str]], list[list[int]]]

SCAN_CHARS = 32 * 1024  # the request strategy reads this much of a long text's start, and of its end
MAX_SEGMENT_CHARS = 600  # a longer line is cut into pieces of this size (a minified blob is not one sentence)
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"'(\[])")
_ROLE = re.compile(r"^\s*(user|human|me|customer|assistant|ai|bot|agent|system|tool|model)\s*:", re.IGNORECASE)
_LETTERS_AND_SPACE = re.compile(r"[^\W\d_]+|\s+")
_USER_ROLES = frozenset({"user", "human", "me", "customer"})
_ASKING = re.compile(r"\b(?:please|pls|can you|could you|would you|will you|i need|i want|i'd like|help me|"
                     r"let me know|how do i|how can i|what is|what's|which|where|when|who|why)\b", re.IGNORECASE)
_LOG_LIKE = re.compile(r"(?:^\s*(?:at |File \"|Traceback|\$ |>>> |#\d+ )|\b(?:DEBUG|INFO|WARN|WARNING|ERROR|FATAL|"
                       r"TRACE)\b|\d{2}:\d{2}:\d{2}|\d{4}-\d{2}-\d{2}|0x[0-9a-f]{4,}|[{};<>=]{2,})")


@dataclass(frozen=True, slots=True)
class QueryWindow:
    """The text the model reads; ``truncated`` when the request did not fit and was cut to ``text``."""

    text: str
    truncated: bool = False
    tokens: int = 0  # tokens of ``text`` (of the request when it fitted)


def query_budget(model: LoadedModel) -> int:
    """Query tokens the model reads: a bi-encoder's length less its special tokens and its query instruction, a
    cross-encoder's query cap less the pair's opening tokens and the separator after the query (engine/pairs.py)."""
    template, spec = model.template, model.spec
    if spec.kind == BI_ENCODER:  # less the query instruction a bi-encoder puts before every query (bge's)
        instruction = len(model.tokenize([spec.query_instruction])[0]) if spec.query_instruction else 0
        return max(1, spec.max_length - len(template.single_prefix) - len(template.single_suffix) - instruction)
    return max(1, spec.max_query_length - len(template.prefix) - (1 if template.middle else 0))


def fit_query(text: str, tokenize: Tokenize, budget: int, strategy: str = DEFAULT_STRATEGY) -> QueryWindow:
    """``text`` as is when its tokens fit ``budget``, else the part ``strategy`` keeps (see the module)."""
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown query window strategy {strategy!r} (use one of {', '.join(STRATEGIES)})")
    budget = max(1, budget)
    # a token covers at least one character: a text that short fits without tokenizing it all
    probe = text if len(text) <= 16 * budget else text[: 16 * budget]
    n = len(tokenize([probe])[0])
    if probe is not text and n <= budget:  # long words: count the whole text
        n = len(tokenize([text])[0])
        probe = text
    if probe is text and n <= budget:
        return QueryWindow(text, False, n)
    if strategy == HEAD:
        kept = _head(text, tokenize, budget)
    elif strategy == TAIL:
        kept = _tail(text, tokenize, budget)
    elif strategy == HEAD_TAIL:
        first = _head(text, tokenize, budget // 4)
        kept = first + "\n" + _tail(text[len(first):], tokenize, budget - budget // 4)
    else:
        kept = _request(text, tokenize, budget)
    if kept.strip() == text.strip():
        return QueryWindow(text, False, n)
    return QueryWindow(kept, True, len(tokenize([kept])[0]))


def _fit_chars(piece: str, tokenize: Tokenize, budget: int, from_end: bool) -> str:
    """The longest prefix (or suffix) of ``piece`` of at most ``budget`` tokens (binary search on characters)."""
    if budget <= 0 or not piece:
        return ""
    lo, hi = 0, min(len(piece), 64 * budget)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        cut = piece[-mid:] if from_end else piece[:mid]
        if len(tokenize([cut])[0]) <= budget:
            lo = mid
        else:
            hi = mid - 1
    return piece[-lo:] if from_end and lo else piece[:lo]


def _head(text: str, tokenize: Tokenize, budget: int) -> str:
    return _fit_chars(text, tokenize, budget, from_end=False)


def _tail(text: str, tokenize: Tokenize, budget: int) -> str:
    return _fit_chars(text, tokenize, budget, from_end=True)


@dataclass(frozen=True, slots=True)
class Segment:
    """A sentence (or a piece of a long line) of the request, with its line and the turn it belongs to."""

    text: str  # without a ``User:``-style marker
    line: int
    role: int = 0  # +1 in a user's turn, -1 in an assistant's, system's or tool's, 0 outside any turn
    turn: int = 0  # the how-manyth turn marker it follows (0: none)


def segments(text: str) -> list[Segment]:
    """Sentences line by line, long ones cut into :data:`MAX_SEGMENT_CHARS` pieces; empty ones dropped.
    A line opening with ``User:``/``Assistant:``... sets the turn of it and the lines after it."""
    out: list[Segment] = []
    role = turn = 0
    for line_no, line in enumerate(text.split("\n")):
        marker = _ROLE.match(line)
        if marker:
            role = 1 if marker.group(1).lower() in _USER_ROLES else -1
            turn += 1
            line = line[marker.end():]
        for seg in _SENTENCE.split(line):
            seg = seg.strip()
            while len(seg) > MAX_SEGMENT_CHARS:
                out.append(Segment(seg[:MAX_SEGMENT_CHARS], line_no, role, turn))
                seg = seg[MAX_SEGMENT_CHARS:]
            if seg:
                out.append(Segment(seg, line_no, role, turn))
    return out


def request_likeness(segment: str) -> float:
    """How much a segment reads like what the user asks for (higher) rather than pasted material (lower)."""
    score = 0.0
    words = _words(segment)
    if _opens_request(words):
        score += 2.0
    if _ASKING.search(segment):
        score += 1.0
    if segment.rstrip().endswith("?"):
        score += 1.0
    if _LOG_LIKE.search(segment):
        score -= 2.0
    other = len(_LETTERS_AND_SPACE.sub("", segment))  # digits, punctuation, symbols
    if segment and other / len(segment) > 0.25:  # digits, punctuation, paths: a paste, not a sentence
        score -= 1.0
    return score


def _request(text: str, tokenize: Tokenize, budget: int) -> str:
    """The line of the segment that reads most like the request, grown around that segment while it fits
    (a pasted log or earlier turns around it are left out); head and tail when nothing reads like one.
    Of a text over 2 x :data:`SCAN_CHARS`, only its start and end are read: a request sits next to
    what it pastes, and the cost stays bounded (a 1 MiB paste costs what a 64 KiB one does)."""
    if len(text) > 2 * SCAN_CHARS:
        text = text[:SCAN_CHARS] + "\n" + text[-SCAN_CHARS:]
    segs = segments(text)
    last = len(segs) - 1
    current = max((s.turn for s in segs if s.role > 0), default=-1)  # a transcript's last user turn is the request
    scores = [request_likeness(s.text) + _position_bonus(i, last) + (-2.0 if s.role < 0 else 0.0)
              for i, s in enumerate(segs)]
    pool = [i for i, s in enumerate(segs) if s.role > 0 and s.turn == current] or range(len(segs))
    if not segs or (current < 0 and max(scores) <= 0):
        first = _head(text, tokenize, budget // 4)
        return first + "\n" + _tail(text[len(first):], tokenize, budget - budget // 4)
    best = max(pool, key=lambda i: (scores[i], i))  # ties: the later one
    line = [i for i, s in enumerate(segs) if s.line == segs[best].line]
    counts = dict(zip(line, (len(ids) for ids in tokenize([segs[i].text for i in line]))))
    if counts[best] > budget:  # the best segment alone is over the window: what fits of its start
        return _head(segs[best].text, tokenize, budget)
    lo = hi = best
    used = counts[best]
    while True:  # the sentences after it first (a request's details follow it), then those before
        if hi + 1 in counts and used + counts[hi + 1] <= budget:
            hi += 1
            used += counts[hi]
        elif lo - 1 in counts and used + counts[lo - 1] <= budget:
            lo -= 1
            used += counts[lo]
        else:
            break
    return " ".join(segs[i].text for i in range(lo, hi + 1))


def _position_bonus(i: int, last: int) -> float:
    """The last segment is where a request pasted after material sits, the first where one introduces it."""
    if i == last:
        return 1.5
    if i == 0:
        return 1.0
    return 0.5 * i / max(last, 1)  # later is likelier than earlier


def pack_segments(segs: Sequence[str], ranked: Sequence[int], tokenize: Tokenize, budget: int) -> list[int]:
    """Indexes of the segments taken in ``ranked`` order (the first 64) while they fit ``budget`` tokens
    (for strategies that rank segments otherwise, e.g. by likeness to the candidates: bench/long_requests.py)."""
    counts = {i: len(ids) for i, ids in zip(ranked[:64], tokenize([segs[i] for i in ranked[:64]]))}
    chosen: list[int] = []
    used = 0
    for i in ranked[:64]:
        cost = counts[i]
        if used + cost <= budget:
            chosen.append(i)
            used += cost
        elif not chosen:  # the best segment alone is too long: keep what fits of it
            return []
    return chosen
