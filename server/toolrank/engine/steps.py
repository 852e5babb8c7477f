"""Multi-step requests: split a request into its steps, and fuse per-step scores with the whole's.

Why: "find the free slot, then book it and send the invite" needs three tools. One embedding of
the whole request blurs them (the calendar search wins, the mail tool sinks); scoring each step
on its own and keeping a candidate's best step finds each one. Splitting every request naively
hurts single-step ones ("compare X and Y", "flights from Paris and London"), so the splitter is
conservative: it cuts only where clause structure says a new action starts.

A cut is made at
  * a strong separator: ``;``, a numbered or bulleted list item, an arrow (``->``, ``=>``, ``→``);
  * a sequencing word: "then", "after that", "afterwards", "next", "finally", "once done"...
    (also after "and" or a comma);
  * a coordinator ("and", "&", "plus", "as well as", a comma, "also") followed by an imperative
    verb that opens a clause: the verb must be in :data:`VERBS`; a verb that is also a common noun
    (:data:`NOUN_VERBS`: "list", "review", "post"...) counts only when an object follows it
    (a determiner, pronoun, name, number, quote or particle: "and post it", not "and post titles");
  * a sentence end, when the next sentence opens with a sequencing word ("Secondly", "Also", "Lastly"...),
    or opens with an imperative verb after a step that did;
  * a coordinator or comma before a question word ("what is", "how far"...) when the clause before it
    opened with one too ("what is the capital of X, and what is the population of Y").
A clause left of a coordinator cut must hold at least two words ("find and delete old files" is
one step), and every step must hold a word. Requests over :data:`MAX_SPLIT_CHARS` are not split
(pasted logs are not step lists), nor are more than :data:`MAX_STEPS` steps kept.

Pure and deterministic: the same text gives the same steps; English sequencing words and
verbs, plus language-neutral separators (``;``, lists, arrows).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from toolrank.engine.lexical import zscore
from toolrank.types import RerankOutcome, Scored, Timing, Usage

MAX_SPLIT_CHARS = 600
"""Longer requests are not split: a pasted log or a long brief is not a list of steps."""
MAX_STEPS = 4
"""Steps kept (the first ones): each costs one more scoring of the candidates."""
STEP_WEIGHT = 0.5
"""A candidate's fused score = (1 - w) x z(its whole-request score) + w x z(its best step score), z over
the request's candidates (chosen on tools-bfcl's multi-call requests with bench/steps_eval.py: 0.5 and
0.7 tie on nDCG@10, 0.5 is better on Recall@1; see docs/requests.md)."""

# Imperative verbs an agent request opens a step with (base form, lower case).
VERBS = frozenset("""
accept add alert announce append approve archive ask assign attach back backup block book bookmark bump
calculate cancel cc change check clean clear clone close comment commit compare compress compute configure
confirm connect convert copy count create crop deactivate decline delete deploy describe disable dismiss
download draft drop duplicate edit email enable escalate estimate export extract fetch file fill find fix flag
follow fork format forward generate get give grab grant help hide import install invite join kick label
launch leave let lock log look make mark merge message move mute notify note open order paste pay pin ping
play plot post prepare print publish pull push put queue read rebase reboot record redeploy refresh
reject release reload remind remove rename render reopen reply report request reschedule reserve reset
resolve restart restore resume retry return revert review revoke rotate run save scan schedule search send
set share show shut sign snooze sort star start stop store submit subscribe summarise summarize suspend
switch sync tag tell test text track transfer translate trigger turn unarchive unassign unblock unfollow
uninstall unlock unmute unpin unstar unsubscribe update upgrade upload validate verify view watch write zip
list query analyze analyse transcribe respond mention react call dial plan draw resize encode decode encrypt
decrypt parse classify detect predict recommend suggest locate navigate buy sell rent refund charge invoice bill
ship tweet retweet like upvote kill terminate scale provision rollback roll
""".split())

# Verbs that are also everyday nouns: a step opens with one only when an object follows.
NOUN_VERBS = frozenset("""
back backup block bookmark bump change check clone comment commit copy count draft drop email file fix flag
format help label launch log look message note order pay pin ping plot post print pull push queue record
release reply report request reset return review run sign sort star start stop store tag test text track
transfer watch zip list query call plan draw bill charge ship like roll scale
""".split())

# Words that may follow a verb as (the start of) its object or particle.
_OBJECT_STARTS = frozenset("""
a an the this that these those it them him her me us my our your his their its all every each any some
one two three four five six seven eight nine ten both everything everyone everybody anything something
up out down in on off to into onto over back about for with from by at as away through around
what which who whom where when how whether if why
""".split())

_SEQUENCERS = (
    "and then", "then", "after that", "afterwards", "afterward", "after which", "next", "finally", "lastly",
    "once done", "once that's done", "once that is done", "when done", "when that's done", "when finished",
    "and finally", "and lastly", "and after that", "and afterwards", "and next", "subsequently",
)
_COORDINATORS = ("and also", "and please", "and", "&", "plus", "as well as", "also", "and to")
_FILLERS = ("please", "also", "just", "then", "and", "to", "kindly", "can you", "could you", "would you",
            "will you", "first", "firstly", "second", "secondly", "third", "thirdly", "lastly", "finally",
            "additionally", "next", "after that", "afterwards")
# A sentence opening with one of these starts a new step ("... Secondly, I need ..."); "first" does not:
# what comes before it is the preamble of the first step.
_SENTENCE_SEQUENCERS = frozenset("second secondly third thirdly fourth next then also lastly finally additionally "
                                 "afterwards afterward".split())
_WH = frozenset("what how which when where who whom whose".split())
_WH_NEXT = frozenset("is are was were will would do does did can could should much many far long time".split())

_STRONG = re.compile(r"\s*(?:;|\u2192|->|=>|\n\s*(?:[-*\u2022]|\d{1,2}[.)])\s+|\n{2,})\s*")
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=\S)")
_WORD = re.compile(r"[\w'@#./:-]+", re.UNICODE)
_LIST_START = re.compile(r"^\s*(?:[-*\u2022]|\d{1,2}[.)])\s+")


@dataclass(frozen=True, slots=True)
class Steps:
    """A request and its steps; ``multi`` when there are two or more."""

    text: str
    steps: tuple[str, ...]

    @property
    def multi(self) -> bool:
        return len(self.steps) > 1


def _words(text: str) -> list[str]:
    return [w.lower().strip(".,:!?") for w in _WORD.findall(text)]


def _strip_fillers(text: str) -> str:
    """Drop leading "please", "also", "then", "and"... from a step (the model needs the action)."""
    out = text.strip(" ,.;:-\t\n")
    changed = True
    while changed:
        changed = False
        low = out.lower()
        for filler in _FILLERS:
            if low == filler or (low.startswith(filler) and low[len(filler):len(filler) + 1] in (" ", ",")):
                out = out[len(filler):].lstrip(" ,")
                changed = True
                break
    return out.strip(" ,.;:-\t\n")


def opens_with_verb(words: Sequence[str]) -> bool:
    """Whether a clause's words start with an imperative verb (an ambiguous one needs an object after it)."""
    if not words:
        return False
    first = words[0]
    if first not in VERBS:
        return False
    if first not in NOUN_VERBS:
        return True
    if len(words) == 1:
        return True  # "... and reply": a lone verb ends the request
    nxt = words[1]
    return (nxt in _OBJECT_STARTS or nxt[:1] in "#@\"'" or any(c.isdigit() for c in nxt)
            or any(c in nxt for c in "._/:-"))


def _opens_request(words: Sequence[str]) -> bool:
    """The request reads as an instruction: a verb first, or after "please"/"can you"/"I need to"..."""
    skip = {"please", "pls", "can", "could", "would", "will", "you", "i", "need", "want", "to", "kindly",
            "first", "hey", "ok", "okay", "so", "now", "let's", "lets", "go", "ahead", "and"}
    for i, w in enumerate(words[:8]):
        if w not in skip:
            return opens_with_verb(list(words[i:]))
    return False


def _parallel_question(lows: Sequence[str], start: int, i: int) -> bool:
    """At ``i`` (after a comma, or "and"), a question like the one the clause opened with begins."""
    at = i + 1 if lows[i] in ("and", "&") else i
    return (at + 1 < len(lows) and i - start >= 3 and lows[start] in _WH and lows[start + 1] in _WH_NEXT
            and lows[at] in _WH and lows[at + 1] in _WH_NEXT)


def _cut_clauses(text: str) -> list[str]:
    """Cut one separator-free span at sequencing words and coordinator + verb boundaries."""
    tokens = list(_WORD.finditer(text))
    if not tokens:
        return [text]
    lows = [t.group(0).lower().strip(".,:!?") for t in tokens]
    cuts: list[tuple[int, int]] = []  # (char where the left clause ends, char where the right one starts)
    i = 1
    last_start = 0
    while i < len(tokens):
        matched = False
        for phrase in _SEQUENCERS:
            parts = phrase.split()
            n = len(parts)
            if lows[i:i + n] != parts or i + n >= len(tokens):
                continue
            comma_before = text[tokens[i - 1].end():tokens[i].start()].strip() == ","
            # "then" / "next" inside a phrase ("the next meeting") is no cut: a verb after it, a comma
            # before it, or "and" in it must say that it starts a clause
            if opens_with_verb(lows[i + n:]) or comma_before or parts[0] == "and":
                cuts.append((tokens[i - 1].end(), tokens[i + n].start()))
                last_start = i + n
                i += n
                matched = True
            break
        if matched:
            continue
        gap = text[tokens[i - 1].end():tokens[i].start()]
        comma = "," in gap
        for phrase in _COORDINATORS:
            parts = phrase.split()
            n = len(parts)
            if lows[i:i + n] == parts and i + n < len(tokens):
                rest = lows[i + n:]
                if rest and rest[0] == "please":
                    rest = rest[1:]
                if opens_with_verb(rest) and i - last_start >= 2:
                    cuts.append((tokens[i - 1].end(), tokens[i + n].start()))
                    last_start = i + n
                    i += n
                    matched = True
                break
        if matched:
            continue
        if (comma or lows[i] in ("and", "&")) and _parallel_question(lows, last_start, i):
            skip = 1 if lows[i] in ("and", "&") else 0
            cuts.append((tokens[i - 1].end(), tokens[i + skip].start()))
            last_start = i + skip
            i += 1 + skip
            continue
        if comma and opens_with_verb(lows[i:]) and i - last_start >= 2 and _opens_request(lows[last_start:]):
            cuts.append((tokens[i - 1].end(), tokens[i].start()))
            last_start = i
        i += 1
    if not cuts:
        return [text]
    out = []
    start = 0
    for end, nxt in cuts:
        out.append(text[start:end])
        start = nxt
    out.append(text[start:])
    return out


def _sentence_groups(text: str) -> list[str]:
    """Sentences joined into steps: a sentence opens a new step after a sequencing word, or when it is an
    instruction after a step that was one ("Check the weather. Book a table."); else it belongs to the step
    before it ("My laptop is slow. Check the CPU usage." is one step)."""
    groups: list[list[str]] = []
    for sentence in (s for s in _SENTENCE.split(text) if s.strip()):
        words = _words(sentence)
        new = bool(groups) and bool(words) and (
            words[0] in _SENTENCE_SEQUENCERS
            or (_opens_request(words) and _opens_request(_words(groups[-1][0]))))
        if not groups or new:
            groups.append([sentence])
        else:
            groups[-1].append(sentence)
    return [" ".join(g) for g in groups]


def split_steps(text: str) -> Steps:
    """The steps of a request (one step, the request itself, when it is not a multi-step one)."""
    stripped = text.strip()
    if not stripped or len(stripped) > MAX_SPLIT_CHARS:
        return Steps(text, (text,))
    spans = [s for s in _STRONG.split(stripped) if s and s.strip()]
    if len(spans) == 1:
        spans = _sentence_groups(stripped)
    clauses: list[str] = []
    for span in spans:
        clauses.extend(_cut_clauses(_LIST_START.sub("", span)))
    steps = [s for s in (_strip_fillers(c) for c in clauses) if _words(s)]
    if len(steps) < 2:
        return Steps(text, (text,))
    return Steps(text, tuple(steps[:MAX_STEPS]))


def fuse_steps(whole: np.ndarray, per_step: Sequence[np.ndarray], weight: float = STEP_WEIGHT,
               clip: bool = False) -> np.ndarray:
    """``(1 - weight) * z(whole) + weight * max over steps of z(step)``, per candidate, put back on the
    whole's scale (``mean + std * fused``): z-scores over the request, so a step whose best candidate
    stands out counts however its raw scores sit. ``clip``: keep the result in [0, 1]."""
    whole = np.asarray(whole, dtype=np.float64)
    if not per_step or weight <= 0:
        return whole
    best = np.max(np.stack([zscore(np.asarray(s, dtype=np.float64)) for s in per_step]), axis=0)
    fused = (1.0 - weight) * zscore(whole) + weight * best
    scale = float(whole.std())
    out = float(whole.mean()) + (scale if scale > 1e-12 else 1.0) * fused
    return np.clip(out, 0.0, 1.0) if clip else out


def cover_steps(fused: np.ndarray, per_step: Sequence[np.ndarray], k: int,
                eligible: np.ndarray | None = None) -> list[tuple[int, int]]:
    """Up to ``k`` rows that cover each step: each step's best row first (round robin over the steps,
    skipping rows already taken), the remaining slots by ``fused``. Returns (row, step) with step the
    1-based step a row was taken for, 0 when taken by the fused score.

    ``eligible``: rows that may be chosen (filters); None = all.
    """
    n = len(fused)
    ok = np.ones(n, dtype=bool) if eligible is None else np.asarray(eligible, dtype=bool)
    ok &= np.isfinite(fused)
    taken: dict[int, int] = {}
    for step, scores in enumerate(per_step, start=1):  # one round: each step's best row not yet taken
        if len(taken) >= k:
            break
        for row in sorted((r for r in range(n) if ok[r]), key=lambda r: (-scores[r], r)):
            if row not in taken:
                taken[row] = step
                break
    for row in sorted((r for r in range(n) if ok[r]), key=lambda r: (-fused[r], r)):
        if len(taken) >= k:
            break
        if row not in taken:
            taken[row] = 0
    return sorted(taken.items(), key=lambda rs: (-fused[rs[0]], rs[0]))


def combine_outcomes(whole: RerankOutcome, parts: Sequence[RerankOutcome], top_n: int, query_truncated: bool,
                     total_ns: int, clip: bool) -> RerankOutcome:
    """One outcome from the whole request's and each step's (all candidates ranked in each):
    scores fused by :func:`fuse_steps`, usage and timing summed (every step was real work)."""
    n = len(whole.results)
    by_index = {r.index: r for r in whole.results}
    scores = np.zeros(n, dtype=np.float64)
    for r in whole.results:
        scores[r.index] = r.score
    per_step = []
    for part in parts:
        s = np.zeros(n, dtype=np.float64)
        for r in part.results:
            s[r.index] = r.score
        per_step.append(s)
    fused = fuse_steps(scores, per_step, clip=clip)
    order = sorted(range(n), key=lambda i: (-fused[i], i))
    if top_n:
        order = order[:top_n]
    results = tuple(Scored(i, by_index[i].id, float(fused[i]), by_index[i].text) for i in order)
    outcomes = [whole, *parts]
    u = whole.usage
    usage = Usage(
        query_tokens=sum(o.usage.query_tokens for o in outcomes),
        candidate_tokens=sum(o.usage.candidate_tokens for o in outcomes),
        truncated=u.truncated + query_truncated,
        windows=sum(o.usage.windows for o in outcomes),
        fallbacks=u.fallbacks,
        cache_hits=u.cache_hits,
        query_truncated=query_truncated,
        steps=len(parts),
    )
    t = [o.timing for o in outcomes]
    timing = Timing(whole.timing.normalize_ns, sum(x.tokenize_ns for x in t), sum(x.queue_ns for x in t),
                    sum(x.inference_ns for x in t), total_ns)
    return RerankOutcome(results, usage, timing, whole.model)
