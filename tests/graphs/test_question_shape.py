"""The wording check that tells single-hop questions from multi-hop ones."""

from __future__ import annotations

import pytest

from agentic_rag.graphs.question_shape import LONG_QUESTION_WORDS, compared_entities, looks_single_hop, multi_hop_signs


@pytest.mark.parametrize(
    "question",
    [
        "Which team owns the Relay service?",
        "When did the Leeds office open?",
        "In which year was the warehouse in Ghent built?",  # "which" after a preposition asks, it does not describe
        "The Harbor team is led by whom?",  # a wh-word at the end asks too
        "What is the name of the main station in the city of Leeds?",  # "name of", "city of" are padding
        "Where is the depot located in the north?",
        "What was Relay's first release?",
        "What's Relay's release date?",  # "what's" is no possessive
        "relay owner",  # a search-box query
        "Which team or group owns Relay?",  # "or" with one name compares nothing
    ],
)
def test_one_hop_questions_show_no_sign(question):
    assert multi_hop_signs(question) == []
    assert looks_single_hop(question)


@pytest.mark.parametrize(
    ("question", "sign"),
    [
        ("Who leads the team that owns Relay?", "relative clause"),
        ("In which office does the manager who approved the budget work?", "relative clause"),
        ("Which language is the service used by the billing team written in?", "described entity"),
        ("Where does the steward of the database behind parcel-pulse work?", "described entity"),
        ("What is the phone extension of the commander of INC-12?", "chained relation"),
        ("Who is the manager of Relay's owning team?", "chained relation"),
        ("Who is Ines Okafor's manager's deputy?", "chained relation"),
        ("Which opened first, the Leeds office or the Ghent depot?", "comparison"),
        ("Are Relay and Ledgerline both written in Go?", "comparison"),
        ("Is Relay older than the billing service?", "comparison"),
        ("In which office does the person to whom Ines reports work?", "relative clause"),
        ("What is the database from which Relay reads its plans?", "relative clause"),
        ("Who leads the team who's in charge of Relay?", "relative clause"),
        ("Who runs the team owning Relay?", "described entity"),
    ],
)
def test_multi_hop_wording_is_recognised(question, sign):
    assert sign in multi_hop_signs(question)
    assert not looks_single_hop(question)


def test_a_long_question_counts_as_multi_hop_and_a_shorter_one_does_not():
    words = ["word"] * (LONG_QUESTION_WORDS - 1)
    assert multi_hop_signs(" ".join(words) + "?") == []
    assert multi_hop_signs(" ".join(words + ["more"]) + "?") == ["long"]


def test_curly_apostrophes_count_as_possessives():
    assert "chained relation" in multi_hop_signs("Who is Ines Okafor’s manager’s deputy?")


@pytest.mark.parametrize("question", ["", "???", "誰がリレーを所有していますか"])
def test_a_question_the_check_cannot_read_takes_no_shortcut(question):
    assert multi_hop_signs(question) == ["unreadable"]
    assert not looks_single_hop(question)


@pytest.mark.parametrize(
    "question, names",
    [
        ("Which band was formed first, The Exies or Circus Diablo?", ["The Exies", "Circus Diablo"]),
        ("Are Nantong and Jingdezhen situated in the same province?", ["Nantong", "Jingdezhen"]),
        ("Which plant is larger, the Pterocarya or the Cotula?", ["Pterocarya", "Cotula"]),
        ("Are King Vidor and Géza von Cziffra both American directors?", ["King Vidor", "Géza von Cziffra"]),
        ("Are Frozen and Escape from the Dark both animated features?", ["Frozen", "Escape from the Dark"]),
        ("What do E. B. White and Dan Masterson have in common?", ["E. B. White", "Dan Masterson"]),
        ("Which came first, the forming of The Dandy Warhols or the birth of Robert Young?",
         ["The Dandy Warhols", "Robert Young"]),
        ('Which film came out first, "Kiss and Tell" or "Big Hero 6"?', ["Kiss and Tell", "Big Hero 6"]),
        ("Does the Heron or the Atlas team own billing?", ["Heron", "Atlas"]),
        ("I live in Berlin. Is Munich or Hamburg closer?", ["Munich", "Hamburg"]),  # one sentence at a time
        ("Which was founded between 1900 and 1910, Ford or GM?", ["Ford", "GM"]),  # years are a range
    ],
)
def test_the_names_a_comparison_compares(question, names):
    assert compared_entities(question) == names


@pytest.mark.parametrize(
    "question",
    [
        "Who played Corliss Archer in the film Kiss and Tell?",  # "and" inside a title, nothing compared
        "How do I reset a password or unlock an account?",  # no names on either side
        "Who leads the team that owns the Atlas service?",
        "Is it a cat or a dog?",
        'Why does "npm install" fail with "EACCES"?',  # quoted, but nothing compared
    ],
)
def test_questions_that_compare_no_names(question):
    assert compared_entities(question) == []
