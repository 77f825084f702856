"""Claims: splitting a Markdown answer, checking each against its passages, attributing the uncited."""

from __future__ import annotations

import pytest

from agentic_rag.evidence import Evidence
from agentic_rag.graphs.claims import attribute_uncited, check_claims, claim_texts, drop_unsupported, markers_in

HARBOR = Evidence(id="teams/harbor.md#0", source="teams/harbor.md", text="# Harbor\n\nThe Harbor team is led by Ines Okafor.")
RUNBOOK = Evidence(id="runbooks/pulse.md#0", source="runbooks/pulse.md",
                   text="Scale pulse-sender to at most 24 replicas. Check RabbitMQ for disk alarms.")

ANSWER = """Ines Okafor leads the Harbor team [1].

## What to do

1. Scale pulse-sender to at most 24 replicas [2].
2. Check RabbitMQ for disk alarms [2]. Then call the vendor [2].

| Team | Lead |
|---|---|
| Harbor | Ines Okafor [1] |"""


def test_an_answer_splits_into_sentences_list_items_and_cells_but_not_headings():
    assert claim_texts(ANSWER) == [
        "Ines Okafor leads the Harbor team [1].", "Scale pulse-sender to at most 24 replicas [2].",
        "Check RabbitMQ for disk alarms [2].", "Then call the vendor [2].", "Harbor", "Ines Okafor [1]",
    ]


@pytest.mark.parametrize("text, markers", [("a [1][2].", [1, 2]), ("a [2, 1] b [1]", [2, 1]), ("none", []), ("[3; 4]", [3, 4])])
def test_markers_in_reads_single_and_grouped_markers(text, markers):
    assert markers_in(text) == markers


def test_each_claim_is_checked_against_the_passages_it_cites_and_quotes_no_heading():
    claims = check_claims(ANSWER, {1: HARBOR, 2: RUNBOOK})
    verdicts = {c.text: c.supported for c in claims}
    assert verdicts["Ines Okafor leads the Harbor team."] is True
    assert verdicts["Scale pulse-sender to at most 24 replicas."] is True
    assert verdicts["Then call the vendor."] is False  # the runbook says nothing of a vendor
    assert verdicts["Harbor"] is False  # no marker: not supported
    quote = claims[0].quotes[0]
    assert quote.quote == "The Harbor team is led by Ines Okafor." and not quote.quote.startswith("#")
    assert drop_unsupported(ANSWER, claims).count("vendor") == 0 and "24 replicas" in drop_unsupported(ANSWER, claims)


def test_an_uncited_sentence_gets_the_passage_that_states_it_and_an_unstated_one_stays_uncited():
    text, attributed = attribute_uncited(
        "Ines Okafor leads the Harbor team. It is always sunny in Leeds.\n\n1. Scale pulse-sender to at most 24 replicas.\n"
        "2. Check RabbitMQ for disk alarms [1].", [HARBOR, RUNBOOK])
    assert text == ("Ines Okafor leads the Harbor team [1]. It is always sunny in Leeds.\n\n"
                    "1. Scale pulse-sender to at most 24 replicas [2].\n2. Check RabbitMQ for disk alarms [2].")
    assert attributed == ["Ines Okafor leads the Harbor team.", "Scale pulse-sender to at most 24 replicas.",
                          "Check RabbitMQ for disk alarms."]  # the last was cited to the passage on Harbor
    assert attribute_uncited("Anything.", []) == ("Anything.", [])


def test_a_claim_cited_to_a_passage_that_does_not_state_it_gets_the_one_that_does():
    welcome = Evidence(id="handbook/welcome.md#1", source="handbook/welcome.md", text="Every service has exactly one owning team.")
    text, attributed = attribute_uncited("Ines Okafor leads the Harbor team. [1]", [welcome, HARBOR])
    assert text == "Ines Okafor leads the Harbor team [2]." and attributed == ["Ines Okafor leads the Harbor team."]
    kept, none = attribute_uncited("Ines Okafor leads the Harbor team [2].", [welcome, HARBOR])
    assert kept == "Ines Okafor leads the Harbor team [2]." and none == []
