"""Answers that are nearly the same: something for the instructor to look at, never a verdict.

Two answers are compared the way MOSS compares programs (Schleimer, Wilkerson and Aiken,
"Winnowing: local algorithms for document fingerprinting", SIGMOD 2003):

1. each answer cell is **normalised** into a stream of Python tokens in which every name the
   learner chose becomes ``V``, every number ``N`` and every string ``S``; comments, blank
   lines and spacing disappear. Keywords, operators, built-in names (``range``, ``len``) and
   attribute names (``.shape``, ``.sum``) stay, since renaming cannot change them;
2. every run of :data:`K` consecutive tokens is hashed, and **winnowing** keeps the smallest
   hash of every window of :data:`WINDOW` runs: the answer's fingerprints. Any copied run of
   ``K + WINDOW - 1`` tokens or more is certain to share a fingerprint;
3. fingerprints of the code the course itself gives (the answer cell's stub) are dropped, and
   so are fingerprints that a large part of the class shares: the usual way to write a loop
   is not evidence of anything;
4. two answers' similarity is the share of the smaller answer's fingerprints that the other
   one has too. Answers with fewer than :data:`MIN_TOKENS` tokens of their own, or fewer than
   :data:`MIN_FINGERPRINTS` fingerprints left, are too short to say anything and are not compared.

Pairs are found through an inverted index (fingerprint -> answers), so a class of a thousand
costs seconds, not the half a million comparisons of every pair.
"""

from __future__ import annotations

import builtins
import hashlib
import io
import keyword
import re
import tokenize
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

#: Tokens per hashed run (a k-gram).
K = 8
#: Runs per winnowing window: a shared run of K + WINDOW - 1 = 11 tokens always shows.
WINDOW = 4
#: Answers with fewer fingerprints than this (after the course's own code is removed) are not compared.
MIN_FINGERPRINTS = 6
#: ... nor answers with fewer tokens than this beyond the stub's (a one-line formula is everyone's).
MIN_TOKENS = 30
#: Default similarity from which a pair is listed.
THRESHOLD = 0.8

_KEEP_NAMES = frozenset(keyword.kwlist) | frozenset(keyword.softkwlist) | frozenset(dir(builtins)) | {
    "torch", "F", "nn", "np", "math", "self"}
_FALLBACK = re.compile(r"[A-Za-z_]\w*|\d+(?:\.\d*)?|\"[^\"\n]*\"|'[^'\n]*'|\S")


def normalise(code: str) -> list[str]:
    """The answer as tokens with the learner's names, numbers and strings replaced (see the module doc)."""
    tokens: list[str] = []
    previous = ""
    try:
        for tok in tokenize.generate_tokens(io.StringIO(code).readline):
            kind, text = tok.type, tok.string
            if kind in (tokenize.COMMENT, tokenize.NL, tokenize.ENCODING, tokenize.ENDMARKER):
                continue
            if kind == tokenize.NEWLINE:
                token = ";"
            elif kind == tokenize.INDENT:
                token = "{"
            elif kind == tokenize.DEDENT:
                token = "}"
            elif kind == tokenize.NAME:
                token = text if text in _KEEP_NAMES or previous == "." else "V"
            elif kind == tokenize.NUMBER:
                token = "N"
            elif kind in (tokenize.STRING, getattr(tokenize, "FSTRING_START", -1)):
                token = "S"
            else:
                token = text
            tokens.append(token)
            previous = text
        return tokens
    except (tokenize.TokenError, IndentationError, SyntaxError):
        # Code that does not tokenize (an unfinished answer) is still compared, more roughly.
        out = []
        for text in _FALLBACK.findall(re.sub(r"#[^\n]*", "", code)):
            if text[0].isalpha() or text[0] == "_":
                out.append(text if text in _KEEP_NAMES or previous == "." else "V")
            elif text[0].isdigit():
                out.append("N")
            elif text[0] in "\"'":
                out.append("S")
            else:
                out.append(text)
            previous = text
        return out


def _hash(run: tuple[str, ...]) -> int:
    return int.from_bytes(hashlib.blake2b(" ".join(run).encode(), digest_size=8).digest(), "big")


def fingerprints(code: str) -> frozenset[int]:
    """The winnowed fingerprints of an answer (a set of 64-bit hashes)."""
    tokens = normalise(code)
    if len(tokens) < K:
        return frozenset()
    hashes = [_hash(tuple(tokens[i:i + K])) for i in range(len(tokens) - K + 1)]
    if len(hashes) <= WINDOW:
        return frozenset([min(hashes)])
    return frozenset(min(hashes[i:i + WINDOW]) for i in range(len(hashes) - WINDOW + 1))


@dataclass(frozen=True)
class Pair:
    """Two answers to one exercise that share most of their fingerprints."""

    exercise: str
    first: str  # who, as the report names them
    second: str
    similarity: float  # shared fingerprints / fingerprints of the smaller answer, 0..1
    shared: int


@dataclass(frozen=True)
class Group:
    """Answers to one exercise linked by similar pairs: read together, as one story."""

    exercise: str
    members: tuple[str, ...]
    lowest: float  # the least alike of the pairs that link them
    highest: float


def groups(pairs: list[Pair]) -> list[Group]:
    """The pairs joined into groups (connected answers of one exercise), largest first."""
    parent: dict[tuple[str, str], tuple[str, str]] = {}

    def find(x):
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for p in pairs:
        parent[find((p.exercise, p.first))] = find((p.exercise, p.second))
    members: dict[tuple[str, str], list[str]] = defaultdict(list)
    for node in list(parent):
        members[find(node)].append(node[1])
    found = []
    for root, whos in members.items():
        linked = [p.similarity for p in pairs if p.exercise == root[0] and find((p.exercise, p.first)) == root]
        found.append(Group(root[0], tuple(sorted(whos)), min(linked), max(linked)))
    return sorted(found, key=lambda g: (-len(g.members), -g.highest, g.exercise, g.members))


def common_limit(answers: int) -> int:
    """Fingerprints shared by more answers than this are the usual way to write it, not evidence."""
    return max(10, answers // 10)


def similar_pairs(exercise: str, answers: dict[str, str], given: Iterable[str] = (),
                  threshold: float = THRESHOLD) -> list[Pair]:
    """Pairs of ``answers`` (``{who: code}``) at least ``threshold`` alike, most alike first.

    ``given`` is the code the course hands out for this answer (the stub): shared fingerprints
    from it count for nobody.
    """
    given = list(given)
    course = frozenset().union(*(fingerprints(code) for code in given))
    stub_tokens = max((len(normalise(code)) for code in given), default=0)
    prints = {who: fingerprints(code) - course for who, code in answers.items()
              if len(normalise(code)) - stub_tokens >= MIN_TOKENS}
    prints = {who: fp for who, fp in prints.items() if len(fp) >= MIN_FINGERPRINTS}
    postings: dict[int, list[str]] = defaultdict(list)
    for who in sorted(prints):
        for fp in prints[who]:
            postings[fp].append(who)
    limit = common_limit(len(answers))
    common = {fp for fp, whos in postings.items() if len(whos) > limit}
    if common:
        prints = {who: fp - common for who, fp in prints.items()}
        prints = {who: fp for who, fp in prints.items() if len(fp) >= MIN_FINGERPRINTS}
    shared: Counter[tuple[str, str]] = Counter()
    for fp, whos in postings.items():
        if fp in common or len(whos) < 2:
            continue
        whos = [w for w in whos if w in prints]
        for i, a in enumerate(whos):
            for b in whos[i + 1:]:
                shared[(a, b)] += 1
    pairs = []
    for (a, b), count in shared.items():
        similarity = count / min(len(prints[a]), len(prints[b]))
        if similarity >= threshold:
            pairs.append(Pair(exercise, a, b, round(similarity, 3), count))
    pairs.sort(key=lambda p: (-p.similarity, p.first, p.second))
    return pairs
