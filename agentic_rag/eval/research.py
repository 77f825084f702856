"""Scoring answers to research questions: the share of key facts stated, and how well they are cited.

A research question lists its key facts; a fact counts as stated when the answer contains any of
its terms (case-insensitive). Lexical, so it undercounts paraphrase and cannot tell a fact stated
from a term mentioned in passing: read the answers too.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from agentic_rag.answer import Answer

__all__ = ["ResearchScore", "score_research_answer"]


class ResearchScore(BaseModel):
    """One answer's figures."""

    facts: int
    stated: int
    words: int
    claims: int
    cited_claims: int
    supported_claims: int
    markers: int
    """Markers on the cited claims (citations per claim = markers / cited_claims)."""
    markers_to_nothing: int
    """Markers that point at no retrieved passage, in the text as the model wrote it (removed before display)."""
    llm_calls: int
    tokens: int
    seconds: float

    @property
    def recall(self) -> float:
        return self.stated / self.facts if self.facts else 0.0


def score_research_answer(answer: Answer, facts: list[dict[str, Any]]) -> ResearchScore:
    """Key facts stated in ``answer`` (any of a fact's ``any`` terms present), words and claim support."""
    text = answer.text.lower()
    stated = sum(1 for fact in facts if any(term.lower() in text for term in fact["any"]))
    cited = [c for c in answer.claims if c.markers]
    return ResearchScore(
        facts=len(facts), stated=stated, words=len(answer.text.split()), claims=len(answer.claims),
        cited_claims=len(cited), supported_claims=sum(1 for c in cited if c.supported),
        markers=sum(len(c.markers) for c in cited), markers_to_nothing=len(answer.invalid_markers),
        llm_calls=answer.usage.llm_calls, tokens=answer.usage.total_tokens, seconds=round(answer.usage.seconds, 1),
    )
