"""The research scorer: key facts by any of their terms, claims cited and supported."""

from agentic_rag.answer import Answer, Claim, Usage
from agentic_rag.eval.research import score_research_answer

FACTS = [{"fact": "the lead", "any": ["Odalys Fenwick", "Fenwick"]}, {"fact": "cadence", "any": ["three weeks"]},
         {"fact": "staging", "any": ["10%"]}]


def test_a_fact_counts_once_when_any_term_is_there_and_claims_are_counted_by_support():
    answer = Answer(question="q", text="FENWICK leads it [1][2]. It ships every three weeks.",
                    usage=Usage(llm_calls=3, prompt_tokens=50, completion_tokens=7), invalid_markers=[9],
                    claims=[Claim(text="FENWICK leads it.", markers=[1, 2], supported=True),
                            Claim(text="It ships every three weeks.", markers=[], supported=False)])
    score = score_research_answer(answer, FACTS)
    assert (score.stated, score.facts, score.recall) == (2, 3, 2 / 3)
    assert (score.claims, score.cited_claims, score.supported_claims, score.llm_calls) == (2, 1, 1, 3)
    assert score.words == 9 and (score.markers, score.markers_to_nothing, score.tokens) == (2, 1, 57)
