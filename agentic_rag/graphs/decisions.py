"""The loop's decisions as pure functions of plain values, apart from prompting and bookkeeping.

The nodes gather the values (what the judge said, what was searched, what the passages hold) and
ask these functions what follows: whether the judge answered, whether that answer ends the search,
whether it is the final answer, which searches come next, which passages the answer reads and
which path writes the answer.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from agentic_rag.steps import SearchRequest, Step, normalise_query

__all__ = [
    "AnswerPath", "JudgeOutcome", "answer_passage_ids", "is_yes_or_no", "answer_path", "fresh_searches", "judge_outcome", "names_unsearched", "reading_order",
    "in_document_order", "nothing_found", "search_failure", "some_searches_failed",
]

AnswerPath = Literal["judge_draft", "not_found", "without_passages", "from_passages"]


@dataclass(frozen=True)
class JudgeOutcome:
    """What one verdict means for the loop.

    ``answered``: the judge gave an answer backed by a cited passage. ``sufficient``: that answer
    ends the search. ``final``: it is the answer itself, with no answer call (a first-round answer
    the adaptive path accepts).
    """

    answered: bool
    sufficient: bool
    final: bool


def judge_outcome(
    *,
    draft_answer: str,
    cited: int,
    asks_more: bool,
    previous_answer: str,
    asks_unsearched: bool = False,
    adaptive: bool,
    first_round: bool,
    single_hop: bool,
    passages_cover_question: bool,
) -> JudgeOutcome:
    """Whether a verdict answers, ends the search, and is final.

    An answer counts when a cited passage backs it. It ends the search when the judge asks for no
    new search; when it repeats the previous round's answer (the small model fills its next query
    even when it has answered, so a second round confirms) and the next query names nothing no
    search has named yet (``asks_unsearched``: a name found in a passage is searched before the
    answer stands); or, on the adaptive path, when the question looks single-hop or the cited
    passages hold the question's words. An answer the adaptive path accepts in the first round is
    final, unless it is a bare yes or no: the judge's prompt, which also asks what is missing, leans
    to "yes" (HotpotQA train: both of its first-round yes/no answers were wrong where the answer
    prompt over the same passages was right), so the answer call, reading the same cached passages,
    writes those.
    """
    answered = bool(draft_answer) and cited > 0
    confirmed = normalise_query(draft_answer) == normalise_query(previous_answer) and not asks_unsearched
    covered = adaptive and answered and (single_hop or passages_cover_question)
    sufficient = answered and (not asks_more or confirmed or covered)
    final = covered and first_round and not is_yes_or_no(draft_answer)
    return JudgeOutcome(answered=answered, sufficient=sufficient, final=final)


def is_yes_or_no(answer: str) -> bool:
    """Whether a short answer is a bare "yes" or "no" (any case, punctuation aside)."""
    return normalise_query(answer) in ("yes", "no")


def names_unsearched(query: str, searched: Iterable[str]) -> bool:
    """Whether ``query`` names something (a capitalised word) that none of the ``searched`` queries holds."""
    seen = {word for text in searched for word in normalise_query(text).split()}
    # a name's words as a search reads them ("Jean-Luc" is "jean" and "luc")
    names = {word for name in _NAME.findall(query) for word in normalise_query(name).split()} - _NOT_NAMES
    return bool(names - seen)


_NAME = re.compile(r"\b[A-Z0-9][\w\-]*")
_NOT_NAMES = frozenset({"the", "a", "an", "what", "which", "who", "when", "where", "how", "of", "in"})


def fresh_searches(candidates: Iterable[SearchRequest], done: Iterable[SearchRequest]) -> list[SearchRequest]:
    """The candidate searches not run before (nor empty), one query a round (on each of its tools)."""
    seen = {request.key() for request in done}
    fresh: list[SearchRequest] = []
    for request in candidates:
        if normalise_query(request.query) and request.key() not in seen:
            seen.add(request.key())
            fresh.append(request)
    return [r for r in fresh if r.query == fresh[0].query]


def answer_passage_ids(found: Sequence[str], cited: Sequence[str], limit: int) -> list[str]:
    """The passages the answer reads: everything found, in the order it was found.

    The first round's passages come first, as the traditional graph reads them, and what later
    rounds added follows. Beyond ``limit`` the passages a judge cited are kept first, then the
    earliest found. Measured on HotpotQA train: the small model answered better from all passages
    than from the judge's picks, which were too often incomplete.
    """
    if len(found) <= limit:
        return list(found)
    known = set(found)
    keep = set([i for i in cited if i in known][:limit])
    for i in found:
        if len(keep) >= limit:
            break
        keep.add(i)
    return [i for i in found if i in keep]


def reading_order(found: Sequence[str], keep: Sequence[str], limit: int) -> list[str]:
    """The passages a prompt shows: at most ``limit`` of ``found``, ``keep`` first past it, in document order.

    The judge keeps what it cited and what the last round found; the answer keeps what the judges
    cited. Judge and answer show passages in the same order, which changes only by what a round
    adds, so each prompt begins as the previous one did and the model server reuses its cache.
    """
    return in_document_order(answer_passage_ids(found, keep, limit))


def in_document_order(ids: Sequence[str]) -> list[str]:
    """``ids`` with the chunks of one source together and in their order (``src#3`` after ``src#1``).

    Sources keep the order in which their first chunk came; ids without a chunk number stay where
    they are among their source's. A procedure split across chunks then reads as written.
    """
    def chunk(evidence_id: str) -> int:
        number = evidence_id.rpartition("#")[2]
        return int(number) if number.isdigit() else -1

    first_seen: dict[str, int] = {}
    for position, evidence_id in enumerate(ids):
        first_seen.setdefault(evidence_id.rpartition("#")[0] or evidence_id, position)
    return sorted(ids, key=lambda i: (first_seen[i.rpartition("#")[0] or i], chunk(i)))


def answer_path(
    *,
    sufficient: bool,
    draft_is_final: bool,
    draft_asks_nothing_more: bool,
    answer_from_judge: bool,
    draft_sources_found: bool,
    short_answer: bool = True,
    has_passages: bool,
    retrieval_needed: bool,
) -> AnswerPath:
    """Which path writes the answer.

    ``judge_draft``: for a short answer, when the evidence sufficed, a final judge answer (or, with ``answer_from_judge``, one that asked for
    nothing more) whose cited passages were all found is the answer as it is. ``not_found``: no
    passage to answer from, the no-answer sentence. ``without_passages``: the plan said no search
    was needed, the model answers alone. ``from_passages``: the answer call over the passages.
    """
    if short_answer and sufficient and (draft_is_final or (answer_from_judge and draft_asks_nothing_more)) and draft_sources_found:
        return "judge_draft"
    if not has_passages:
        return "not_found" if retrieval_needed else "without_passages"
    return "from_passages"


def search_failure(steps: Sequence[Step]) -> str | None:
    """What went wrong when every search of a run failed (a store that is down or misconfigured), else ``None``."""
    searches = [step.detail for step in steps if step.kind == "search"]
    if not searches or not all(getattr(detail, "error", None) for detail in searches):
        return None
    first = searches[0]
    return f"every search failed; {first.tool}: {first.error}"


def nothing_found(steps: Sequence[Step], filters: Mapping[str, object] | None = None) -> str | None:
    """What to tell the reader when every search ran and none found a passage, else ``None``.

    An empty store, a collection opened by the wrong name or filters that match nothing look like
    this; the reader is told, rather than handed a bare "cannot answer".
    """
    searches = [step.detail for step in steps if step.kind == "search"]
    if not searches or any(getattr(d, "error", None) or getattr(d, "found", None) for d in searches):
        return None
    tools = ", ".join(dict.fromkeys(d.tool for d in searches))
    runs = f"{len(searches)} search{'es' if len(searches) > 1 else ''} of {tools}"
    if filters:
        shown = ", ".join(f"{key}={value}" for key, value in filters.items())
        return f"no passage was found: {runs} returned nothing with the filters {shown} (do they match any document?)."
    return f"no passage was found: {runs} returned nothing (is the store empty, or does it hold other documents?)."


def some_searches_failed(steps: Sequence[Step]) -> str | None:
    """What went wrong when some searches of a run failed and others did not, else ``None``.

    The answer then stands on part of the sources: a store that broke in a later round, or one
    of several tools that is down, is said rather than hidden behind what the others found.
    """
    searches = [step.detail for step in steps if step.kind == "search"]
    failed = [detail for detail in searches if getattr(detail, "error", None)]
    if not failed or len(failed) == len(searches):
        return None
    first = failed[0]
    return (f"{len(failed)} of {len(searches)} searches failed ({first.tool}: {first.error}); "
            "this answer uses only what the others found.")
