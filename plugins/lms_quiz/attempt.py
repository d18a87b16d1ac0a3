"""What one attempt shows: which entries, in which order, under which ids.

Everything here is a pure function of the quiz and the attempt's ``seed``, so
the server can rebuild exactly what a learner saw when it marks the attempt,
today or years later from the stored course version.  Randomness comes only
from :class:`random.Random` seeded with *strings*: a string seed is hashed
with SHA-512 by :mod:`random`, so it gives the same sequence in every process
and on every machine (``hash()``-based seeds would not).

Ids the browser sees are never the author's.  Author ids (``a``, ``b``…,
``i1``, ``i2``…) follow the written order, and the written order *is* the
answer of an ordering question, so they are replaced per attempt by opaque
ids (:func:`public_ids`).  The public ids are derived from the seed: a graded
attempt's seed must be unpredictable and must stay on the server, otherwise a
learner could recompute the hashes of the few possible author ids.
"""

from __future__ import annotations

import hashlib
import random
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeVar, cast

from lms_quiz.model import (
    Entry,
    FillBlanks,
    Matching,
    MultipleChoice,
    Ordering,
    Question,
    Quiz,
    Scenario,
    SingleChoice,
)

Role = Literal["option", "left", "right", "item", "gap"]
"""What a public id names.  Left and right sides of one matching pair share an
author id; hashing the role in keeps their public ids unrelated, so the right
choice's id never tells which left item it belongs to."""

PUBLIC_ID_HEX = 8


def _rng(seed: int, quiz: Quiz, *parts: str) -> random.Random:
    # Reproducible shuffles, not secrets: the order is shown to the learner anyway.
    return random.Random(":".join([str(seed), quiz.id, *parts]))  # noqa: S311


def entry_tags(entry: Entry) -> set[str]:
    """Tags a ``draw`` rule looks at: a scenario's own tags and its questions' tags.

    A scenario is drawn as one entry, so a tag written on any of its questions
    makes the whole scenario eligible for that tag's rule.
    """
    if isinstance(entry, Scenario):
        tags = set(entry.tags)
        for question in entry.questions:
            tags.update(question.tags)
        return tags
    return set(entry.tags)


def select_entries(quiz: Quiz, *, seed: int) -> list[Entry]:
    """The entries of attempt ``seed``, in the order they are shown.

    ``draw`` rules are applied first: tagged rules in written order, then the
    rules without a tag (so "3 from ``luat``, 5 from the rest" works whatever
    order the author wrote them in).  An entry is drawn at most once; a rule
    asking for more than its pool holds takes the whole pool.  Drawn entries
    keep their written order unless the quiz shuffles questions.  A scenario is
    one entry, so its questions stay together and in order.
    """
    rng = _rng(seed, quiz)
    indices = list(range(len(quiz.entries)))
    if quiz.draw:
        taken: set[int] = set()
        rules = [r for r in quiz.draw if r.tag is not None] + [
            r for r in quiz.draw if r.tag is None
        ]
        for rule in rules:
            pool = [
                i
                for i in indices
                if i not in taken and (rule.tag is None or rule.tag in entry_tags(quiz.entries[i]))
            ]
            taken.update(rng.sample(pool, min(rule.count, len(pool))))
        indices = sorted(taken)
    if quiz.shuffle_questions:
        rng.shuffle(indices)
    return [quiz.entries[i] for i in indices]


def selected_questions(quiz: Quiz, *, seed: int) -> list[Question]:
    """The gradable questions of attempt ``seed`` (scenarios flattened), in shown order."""
    out: list[Question] = []
    for entry in select_entries(quiz, seed=seed):
        if isinstance(entry, Scenario):
            out.extend(entry.questions)
        else:
            out.append(entry)
    return out


def option_order(quiz: Quiz, question: SingleChoice | MultipleChoice, *, seed: int) -> list[int]:
    """Indices of ``question.options`` in shown order.

    Shuffled only when the quiz shuffles options and the question allows it;
    ``fixed`` options ("all of the above") keep their written position and the
    others are shuffled among the remaining positions.
    """
    order = list(range(len(question.options)))
    if not (quiz.shuffle_options and question.shuffle):
        return order
    movable = [i for i, option in enumerate(question.options) if not option.fixed]
    shuffled = list(movable)
    _rng(seed, quiz, question.id, "options").shuffle(shuffled)
    for position, index in zip(movable, shuffled, strict=True):
        order[position] = index
    return order


def real_pairs(question: Matching) -> list[int]:
    """Indices of the pairs that have a left side (the others are extra wrong choices)."""
    return [i for i, pair in enumerate(question.pairs) if pair.left.strip()]


def left_order(quiz: Quiz, question: Matching, *, seed: int) -> list[int]:
    """Indices of the real pairs in the order their left sides are shown.

    Shuffled like options (quiz ``shuffle_options`` and question ``shuffle``);
    the right-hand choices are what really must be shuffled (:func:`choice_order`).
    """
    order = real_pairs(question)
    if quiz.shuffle_options and question.shuffle:
        _rng(seed, quiz, question.id, "left").shuffle(order)
    return order


def choice_order(quiz: Quiz, question: Matching, *, seed: int) -> list[int]:
    """Indices of the pairs whose right sides are shown as choices, in shown order.

    Right sides with the same text are shown once (the first pair carries
    them; grading compares texts, so any of them is right).  The choices are
    always shuffled: written in the pairs' order they would give every answer
    away.  When the shuffle happens to list the real pairs' right sides in the
    order the left sides are shown (two or more of them), the real choices are
    rotated one step among their positions so the layout never shows the answer.
    """
    seen: set[str] = set()
    order: list[int] = []
    for i, pair in enumerate(question.pairs):
        if pair.right not in seen:
            seen.add(pair.right)
            order.append(i)
    _rng(seed, quiz, question.id, "right").shuffle(order)
    expected: list[str] = []
    for i in left_order(quiz, question, seed=seed):
        text = question.pairs[i].right
        if text not in expected:
            expected.append(text)
    wanted = set(expected)
    positions = [p for p, i in enumerate(order) if question.pairs[i].right in wanted]
    shown = [question.pairs[order[p]].right for p in positions]
    if len(positions) >= 2 and shown == expected:
        rotated = [order[p] for p in positions[1:] + positions[:1]]
        for p, i in zip(positions, rotated, strict=True):
            order[p] = i
    return order


def item_order(quiz: Quiz, question: Ordering, *, seed: int) -> list[int]:
    """Indices of ``question.items`` in shown order: always shuffled, never the answer.

    A shuffle that lands on the right order (compared by text, so items with
    equal texts cannot sneak it through) is rotated one step.  With two items
    this means the learner always sees them swapped; that is the price of
    never showing the answer.
    """
    order = list(range(len(question.items)))
    _rng(seed, quiz, question.id, "items").shuffle(order)
    texts = [item.text for item in question.items]
    if len(order) >= 2 and [texts[i] for i in order] == texts:
        order = order[1:] + order[:1]
    return order


@dataclass(slots=True)
class IdMap:
    """Public ids of one collection of a question, aligned with the author's list.

    ``ids[i]`` is the public id of the ``i``-th option (pair, item, gap) as
    written; ``index`` maps a public id back to that position, which is what
    grading needs.  Positions rather than author ids, so that even a model
    with a repeated author id cannot make two things share a public id.
    """

    ids: tuple[str, ...]
    index: Mapping[str, int]

    def author(self, author_ids: Sequence[str], public_id: object) -> str | None:
        """The author id behind ``public_id``, or None when it is not one of ours."""
        if not isinstance(public_id, str):
            return None
        position = self.index.get(public_id)
        return None if position is None else author_ids[position]


def _author_ids(question: Question, role: Role) -> list[str]:
    if role == "option" and isinstance(question, SingleChoice | MultipleChoice):
        return [option.id for option in question.options]
    if role in ("left", "right") and isinstance(question, Matching):
        return [pair.id for pair in question.pairs]
    if role == "item" and isinstance(question, Ordering):
        return [item.id for item in question.items]
    if role == "gap" and isinstance(question, FillBlanks):
        return [gap.id for gap in question.gaps]
    return []


_ROLES: dict[str, tuple[Role, ...]] = {
    "single": ("option",),
    "multiple": ("option",),
    "matching": ("left", "right"),
    "ordering": ("item",),
    "blanks": ("gap",),
}
_CACHE_SIZE = 256
T = TypeVar("T")
K = TypeVar("K")
V = TypeVar("V")
_cache: OrderedDict[tuple[int, int], tuple[Quiz, dict[tuple[int, str], IdMap]]] = OrderedDict()
_cache_lock = threading.Lock()


def remembered(
    cache: OrderedDict[K, tuple[Quiz, V]], key: K, quiz: Quiz, size: int, compute: Callable[[], V]
) -> V:
    """``compute()``, kept in ``cache`` under ``key``: at most ``size`` entries, the least
    recently used dropped first.

    An entry holds the quiz itself and is only reused for that very object
    (an ``id()`` in ``key`` can come back for a later object).
    """
    with _cache_lock:
        hit = cache.get(key)
        if hit is not None and hit[0] is quiz:
            cache.move_to_end(key)
            return hit[1]
    value = compute()
    with _cache_lock:
        cache[key] = (quiz, value)
        while len(cache) > size:
            cache.popitem(last=False)
    return value


_STATIC: OrderedDict[int, tuple[Quiz, dict[str, Any]]] = OrderedDict()
_STATIC_SIZE = 64


def static_plan(quiz: Quiz, name: str, compute: Callable[[], T]) -> T:
    """``compute()`` once per quiz object: what depends on the quiz but not the attempt.

    A server marks many attempts of the same (cached, immutable) course
    version; work that only depends on the quiz is done once.  Entries hold
    the quiz itself, so an id is never confused with a later object's.
    """
    with _cache_lock:
        hit = _STATIC.get(id(quiz))
        if hit is not None and hit[0] is quiz and name in hit[1]:
            _STATIC.move_to_end(id(quiz))
            return cast(T, hit[1][name])
    value = compute()
    with _cache_lock:
        hit = _STATIC.get(id(quiz))
        if hit is None or hit[0] is not quiz:
            hit = (quiz, {})
            _STATIC[id(quiz)] = hit
        hit[1][name] = value
        while len(_STATIC) > _STATIC_SIZE:
            _STATIC.popitem(last=False)
    return value


def _id_plan(quiz: Quiz) -> tuple[list[tuple[Question, Role, int]], int]:
    wanted = [
        (question, role, len(_author_ids(question, role)))
        for question in quiz.questions()
        for role in _ROLES.get(question.kind, ())
    ]
    return wanted, sum(count for _, _, count in wanted)


def _stream(quiz: Quiz, seed: int, total: int) -> list[str]:
    """The first ``total`` slices of attempt ``seed``'s id stream (see :func:`_derive_ids_careful`).

    Raw digests joined and cut into hex groups by ``bytes.hex(sep, n)`` and
    ``split()`` in C: the same slices as cutting the hex digest in a Python
    loop, for less than half the cost, which matters because every marked
    attempt derives them.  ``PUBLIC_ID_HEX`` must be even (whole bytes).
    """
    base = f"{seed}:{quiz.id}:"
    per_digest = 64 // (PUBLIC_ID_HEX // 2)
    raw = b"".join(
        [
            hashlib.blake2b(f"{base}{block}".encode(), digest_size=64).digest()
            for block in range(-(-total // per_digest))
        ]
    )
    return raw[: total * (PUBLIC_ID_HEX // 2)].hex(" ", PUBLIC_ID_HEX // 2).split()


def _derive_ids(quiz: Quiz, seed: int) -> dict[tuple[int, str], IdMap]:
    """Every public id of attempt ``seed``: the fast path of :func:`_derive_ids_careful`.

    Cuts the same stream the same way; when any collection would hold a
    repeated id (about once in 10^8 attempts) it hands over to the careful
    version, so the result is always identical to it.
    """
    plan: tuple[list[tuple[Question, Role, int]], int] = static_plan(
        quiz, "ids", lambda: _id_plan(quiz)
    )
    wanted, total = plan
    slices = _stream(quiz, seed, total)
    out: dict[tuple[int, str], IdMap] = {}
    position = 0
    for question, role, count in wanted:
        chunk = slices[position : position + count]
        position += count
        index = dict(zip(chunk, range(count), strict=True))
        if len(index) != count:
            return _derive_ids_careful(quiz, seed)
        out[(id(question), role)] = IdMap(tuple(chunk), index)
    return out


def id_starts(quiz: Quiz) -> dict[tuple[int, str], int]:
    """Where each collection's ids begin in the attempt's stream (same for every seed).

    Keyed like :func:`attempt_ids`.  With :func:`attempt_index` this lets a
    marker compiled once per quiz turn a public id into a position in its own
    list without a map per question and attempt.
    """

    def compute() -> dict[tuple[int, str], int]:
        wanted, _ = _id_plan(quiz)
        starts: dict[tuple[int, str], int] = {}
        position = 0
        for question, role, count in wanted:
            starts[(id(question), role)] = position
            position += count
        return starts

    return static_plan(quiz, "id_starts", compute)


def attempt_index(quiz: Quiz, seed: int) -> dict[str, int] | None:
    """Every public id of attempt ``seed`` mapped to its place in the stream.

    The ids of a collection are the stream's slices from its
    :func:`id_starts` on, exactly as :func:`public_ids` hands them out, so a
    public id maps back to ``index[id] - start`` when that lies within the
    collection, and to nothing otherwise.  None when any id repeats anywhere
    in the attempt (a few times in 10^7 attempts of a 50-option quiz): then
    one place per id cannot describe the attempt and callers use
    :func:`attempt_ids`, which also covers the careful derivation.  Not
    cached: marking derives it once per attempt and keeping it would only
    cost memory and a lock.
    """
    plan: tuple[list[tuple[Question, Role, int]], int] = static_plan(
        quiz, "ids", lambda: _id_plan(quiz)
    )
    total = plan[1]
    slices = _stream(quiz, seed, total)
    index = dict(zip(slices, range(total), strict=True))
    return index if len(index) == total else None


def _derive_ids_careful(quiz: Quiz, seed: int) -> dict[tuple[int, str], IdMap]:
    """Every public id of attempt ``seed``, from one BLAKE2b byte stream.

    The stream is keyed by seed and quiz id and cut into ``PUBLIC_ID_HEX``-hex
    slices, handed out to questions and their elements in written order.  A
    slice that collides inside its collection is skipped.
    """
    plan: tuple[list[tuple[Question, Role, int]], int] = static_plan(
        quiz, "ids", lambda: _id_plan(quiz)
    )
    wanted, total = plan
    base = f"{seed}:{quiz.id}:"
    slices: list[str] = []
    block = 0

    def refill(need: int) -> None:
        nonlocal block
        hexes: list[str] = []
        while len(slices) + len(hexes) * 16 < need:
            hexes.append(hashlib.blake2b(f"{base}{block}".encode(), digest_size=64).hexdigest())
            block += 1
        joined = "".join(hexes)
        slices.extend(joined[i : i + PUBLIC_ID_HEX] for i in range(0, len(joined), PUBLIC_ID_HEX))

    refill(total)
    position = 0
    out: dict[tuple[int, str], IdMap] = {}
    for question, role, count in wanted:
        ids = list(dict.fromkeys(slices[position : position + count]))
        position += count
        while len(ids) < count:  # a collision inside the collection: take more slices
            if position >= len(slices):
                refill(position + 1)
            if slices[position] not in ids:
                ids.append(slices[position])
            position += 1
        out[(id(question), role)] = IdMap(tuple(ids), dict(zip(ids, range(count), strict=True)))
    return out


def attempt_ids(quiz: Quiz, seed: int) -> dict[tuple[int, str], IdMap]:
    """:func:`_derive_ids`, remembered for the last few attempts.

    Rendering a view asks for the ids of every question; deriving them once
    per attempt instead of once per question was the largest saving in
    ``benchmarks/quiz_grading`` before marking moved to :func:`attempt_index`.  The cache holds
    the quiz itself, so an entry is only reused for the very same object.
    """
    return remembered(_cache, (id(quiz), seed), quiz, _CACHE_SIZE, lambda: _derive_ids(quiz, seed))


def public_ids(quiz: Quiz, question: Question, *, seed: int, role: Role) -> IdMap:
    """Per-attempt opaque ids for the options (pairs, items, gaps) of ``question``.

    ``PUBLIC_ID_HEX`` hex characters of a BLAKE2b stream keyed by seed and
    quiz: stable for one attempt (the server recomputes them to mark it),
    different for every attempt, unrelated to the written order, and unique
    within the question.  ``question`` must be one of ``quiz``'s own objects.
    """
    found = attempt_ids(quiz, seed).get((id(question), role))
    if found is None:
        return IdMap(ids=(), index={})
    return found
