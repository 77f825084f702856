"""Answer and retrieval metrics of one run, and bootstrap intervals for their means.

Answers are scored with the SQuAD / HotpotQA normalisation (lower case, no punctuation, no
articles, single spaces); with several gold answers (aliases) a prediction scores its best match.
Retrieval is scored per paragraph: an evidence id ``"<source>#<n>"`` counts for its source.
"""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from agentic_rag.answer import Answer, Step

__all__ = [
    "answer_evidence_ids",
    "bootstrap_ci",
    "exact_match",
    "f1_score",
    "normalize_answer",
    "precision",
    "question_metrics",
    "recall",
    "recall_by_round",
    "retrieved_ids",
    "search_rounds",
    "source_of_evidence_id",
    "strip_markers",
]

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCTUATION = set(string.punctuation)
_MARKERS = re.compile(r"\s*\[\d+(?:\s*[,;]\s*\d+)*\]")
_BINARY = ("yes", "no", "noanswer")


def normalize_answer(text: str) -> str:
    """SQuAD normalisation: lower case, punctuation and articles removed, whitespace collapsed."""
    text = "".join(ch for ch in text.lower() if ch not in _PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", text).split())


def strip_markers(text: str) -> str:
    """``text`` without ``[n]`` / ``[n, m]`` citation markers."""
    return _MARKERS.sub("", text).strip()


def _golds(golds: str | Sequence[str]) -> list[str]:
    return [golds] if isinstance(golds, str) else list(golds)


def exact_match(prediction: str, golds: str | Sequence[str]) -> float:
    """1.0 if the normalised prediction equals a normalised gold answer, else 0.0."""
    normalised = normalize_answer(prediction)
    return float(any(normalised == normalize_answer(g) for g in _golds(golds)))


def gold_in_answer(prediction: str, golds: str | Sequence[str]) -> float:
    """1.0 if a normalised gold answer appears in the normalised prediction (ALCE's STR-EM), else 0.0.

    The measure for answers longer than a few words, where exact match says nothing.
    """
    normalised = f" {normalize_answer(prediction)} "
    return float(any(f" {normalize_answer(g)} " in normalised for g in _golds(golds) if normalize_answer(g)))


def claims_supported(answer: Answer) -> float | None:
    """The share of the answer's cited claims that their passages support; ``None`` without cited claims."""
    cited = [claim for claim in answer.claims if claim.markers]
    return sum(1 for claim in cited if claim.supported) / len(cited) if cited else None


def _f1(prediction: str, gold: str) -> float:
    pred, ref = normalize_answer(prediction), normalize_answer(gold)
    # HotpotQA: yes / no / noanswer only match themselves, never by token overlap.
    if (pred in _BINARY or ref in _BINARY) and pred != ref:
        return 0.0
    pred_tokens, ref_tokens = pred.split(), ref.split()
    common = Counter(pred_tokens) & Counter(ref_tokens)
    overlap = sum(common.values())
    if overlap == 0:
        return 0.0
    p, r = overlap / len(pred_tokens), overlap / len(ref_tokens)
    return 2 * p * r / (p + r)


def f1_score(prediction: str, golds: str | Sequence[str]) -> float:
    """Token F1 of the normalised prediction against its best-matching gold answer."""
    return max((_f1(prediction, g) for g in _golds(golds)), default=0.0)


def recall(found: Iterable[str], gold: Iterable[str]) -> float:
    """Share of ``gold`` items in ``found`` (1.0 when there is no gold item)."""
    gold = set(gold)
    return len(gold & set(found)) / len(gold) if gold else 1.0


def precision(found: Iterable[str], gold: Iterable[str]) -> float | None:
    """Share of ``found`` items that are gold; ``None`` when nothing was found."""
    found = set(found)
    return len(found & set(gold)) / len(found) if found else None


def source_of_evidence_id(evidence_id: str) -> str:
    """The source of a knowledge-base evidence id ``"<source>#<chunk n>"``."""
    source, sep, number = evidence_id.rpartition("#")
    return source if sep and number.isdigit() else evidence_id


def _sources(ids: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(source_of_evidence_id(i) for i in ids))


def search_rounds(steps: Sequence[Step]) -> list[list[str]]:
    """Evidence ids found in each search round (consecutive search steps form one round)."""
    rounds: list[list[str]] = []
    previous = None
    for step in steps:
        if step.kind == "search":
            if previous != "search":
                rounds.append([])
            rounds[-1].extend(str(i) for i in step.detail.get("found") or [])
        previous = step.kind
    return rounds


def retrieved_ids(answer: Answer) -> list[str]:
    """Every evidence id the run retrieved (the answer's record, else the search steps)."""
    if answer.evidence_ids:
        return list(answer.evidence_ids)
    return list(dict.fromkeys(i for found in search_rounds(answer.steps) for i in found))


def answer_evidence_ids(answer: Answer, graph: str) -> list[str]:
    """The evidence the final answer was written from.

    An answer step that records its passages (``passages``) is taken as is. Otherwise: for the
    traditional graph everything retrieved; for the agentic graph the cited evidence plus the
    relevant ids of the last judge step (a judge skipped for budget passes on the previous
    relevant ids plus everything found since).
    """
    for step in reversed(answer.steps):
        if step.kind == "answer" and isinstance(step.detail.get("passages"), list):
            return [str(i) for i in step.detail["passages"]]
    cited = [c.evidence_id for c in answer.citations]
    if graph == "traditional":
        return list(dict.fromkeys(retrieved_ids(answer) + cited))
    relevant: list[str] = []
    since_judge: list[str] = []
    for step in answer.steps:
        if step.kind == "search":
            since_judge.extend(str(i) for i in step.detail.get("found") or [])
        elif step.kind == "judge":
            if isinstance(step.detail.get("relevant"), list):
                relevant = [str(i) for i in step.detail["relevant"]]
            else:
                relevant = list(dict.fromkeys(relevant + since_judge))
            since_judge = []
    return list(dict.fromkeys(cited + relevant))


def recall_by_round(answer: Answer, gold_sources: Sequence[str]) -> list[float]:
    """Supporting-paragraph recall after each search round, cumulative."""
    found: set[str] = set()
    out: list[float] = []
    for ids in search_rounds(answer.steps):
        found.update(_sources(ids))
        out.append(recall(found, gold_sources))
    return out


def question_metrics(answer: Answer, golds: Sequence[str], gold_sources: Sequence[str], graph: str) -> dict[str, Any]:
    """The per-question metrics of one run.

    ``em`` and ``f1`` (answer text without citation markers against ``golds``), ``gold_in_answer``
    (a gold answer appears in the text), ``claims_supported`` (cited claims their passages support),
    ``supporting_recall`` (gold paragraphs retrieved at any step), ``answer_recall`` (gold
    paragraphs in the evidence the answer was written from), ``citation_precision`` (cited
    paragraphs that are gold; ``None`` without citations), ``recall_by_round``, ``rounds``.
    """
    prediction = strip_markers(answer.text)
    by_round = recall_by_round(answer, gold_sources)
    return {
        "em": exact_match(prediction, golds),
        "f1": f1_score(prediction, golds),
        "gold_in_answer": gold_in_answer(prediction, golds),
        "claims_supported": claims_supported(answer),
        "supporting_recall": recall(_sources(retrieved_ids(answer)), gold_sources),
        "answer_recall": recall(_sources(answer_evidence_ids(answer, graph)), gold_sources),
        "citation_precision": precision(_sources(c.evidence_id for c in answer.citations), gold_sources),
        "citations": len({c.evidence_id for c in answer.citations}),
        "rounds": len(by_round),
        "recall_by_round": by_round,
    }


def bootstrap_ci(
    values: Sequence[float], *, confidence: float = 0.95, resamples: int = 2000, seed: int = 0
) -> dict[str, float | int | None]:
    """Mean of ``values`` and its percentile bootstrap interval (seeded, so reports are reproducible).

    Returns ``{"mean", "low", "high", "n"}``; the bounds are ``None`` for fewer than two values and
    everything but ``n`` is ``None`` for none.
    """
    data = np.asarray([v for v in values if v is not None], dtype=np.float64)
    if data.size == 0:
        return {"mean": None, "low": None, "high": None, "n": 0}
    mean = float(data.mean())
    if data.size < 2:
        return {"mean": mean, "low": None, "high": None, "n": 1}
    rng = np.random.default_rng(seed)
    means = data[rng.integers(0, data.size, size=(resamples, data.size))].mean(axis=1)
    tail = (1.0 - confidence) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    return {"mean": mean, "low": float(low), "high": float(high), "n": int(data.size)}
