"""Readers of the HotpotQA, 2WikiMultiHopQA and MuSiQue layouts, on small files written here.

The fixture records and writers defined here are shared by the other eval tests.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from agentic_rag.eval.datasets import DatasetError, DatasetFormat, Paragraph, detect_format, read_dataset


def hotpot_record(qid: str, question: str, answer: str, context: list, facts: list, **extra: Any) -> dict[str, Any]:
    return {"_id": qid, "question": question, "answer": answer, "supporting_facts": facts, "context": context, **extra}


HOTPOT = [
    hotpot_record(
        "h1",
        "Which team owns the service that sends shipment notifications?",
        "the Harbor team",
        [
            ["Relay", ["The Relay service sends shipment notifications.", " Relay is owned by the Harbor team."]],
            ["Harbor", ["The Harbor team is led by Ines Okafor."]],
            ["Atlas", ["The Atlas team owns billing."]],
        ],
        [["Relay", 0], ["Relay", 1]],
        type="bridge",
        level="easy",
    ),
    hotpot_record(
        "h2",
        "Who leads the team that owns Relay?",
        "Ines Okafor",
        [
            ["Relay", ["The Relay service sends shipment notifications.", " Relay is owned by the Harbor team."]],
            ["Harbor", ["The Harbor team is led by Ines Okafor."]],
            ["Comet", ["Comet is a data pipeline run by the Atlas team."]],
        ],
        [["Relay", 1], ["Harbor", 0]],
    ),
    hotpot_record(
        "h3",
        "Who leads the Atlas team?",
        "Tomas Reyes",
        [
            ["Atlas", ["The Atlas team is led by Tomas Reyes."]],  # same title, other text than in h1
            ["Comet", ["Comet is a data pipeline run by the Atlas team."]],
        ],
        [["Atlas", 0]],
    ),
]

TWOWIKI = [
    {
        "_id": "w1",
        "question": "Where was the wife of Camille Paule born?",
        "answer": "Fomboni",
        "type": "compositional",
        "supporting_facts": [["Camille Paule", 0], ["Salima Machamba", 0]],
        "context": [
            ["Camille Paule", ["Camille Paule was the husband of Salima Machamba.", "He was a French gendarme."]],
            ["Salima Machamba", ["Salima Machamba was born in Fomboni."]],
        ],
        "evidences": [["Camille Paule", "spouse", "Salima Machamba"], ["Salima Machamba", "place of birth", "Fomboni"]],
    }
]

MUSIQUE = [
    {
        "id": "2hop__1_2",
        "question": "Who was the first president of the association which published the Journal?",
        "answer": "G. Stanley Hall",
        "answer_aliases": ["Stanley Hall", "G. Stanley Hall"],
        "answerable": True,
        "paragraphs": [
            {"idx": 0, "title": "Journal", "paragraph_text": "The Journal is published by the APA.", "is_supporting": True},
            {"idx": 1, "title": "APA", "paragraph_text": "G. Stanley Hall was the first president of the APA.", "is_supporting": True},
            {"idx": 2, "title": "Other", "paragraph_text": "Something else entirely.", "is_supporting": False},
        ],
        "question_decomposition": [
            {"id": 1, "question": "Who published the Journal?", "answer": "APA", "paragraph_support_idx": 0},
            {"id": 2, "question": "Who was the first president of #1?", "answer": "G. Stanley Hall", "paragraph_support_idx": 1},
        ],
    }
]


def write_json(path: Path, records: list) -> Path:
    path.write_text(json.dumps(records), encoding="utf-8")
    return path


def write_jsonl(path: Path, lines: list[Any]) -> Path:
    path.write_text("\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines) + "\n", encoding="utf-8")
    return path


def test_hotpotqa_layout(tmp_path):
    data = read_dataset(write_json(tmp_path / "hotpot.json", HOTPOT), "hotpotqa")
    assert data.format is DatasetFormat.HOTPOTQA
    assert [e.id for e in data.examples] == ["h1", "h2", "h3"]
    first = data.examples[0]
    assert first.answers == ("the Harbor team",)
    assert first.answer == "the Harbor team"
    # sentences joined with single spaces; the leading space of HotpotQA sentences is not doubled
    assert first.paragraphs[0] == Paragraph("Relay", "The Relay service sends shipment notifications. Relay is owned by the Harbor team.")
    assert first.supporting == (first.paragraphs[0],)  # two facts in one paragraph: one gold paragraph
    assert first.supporting_titles == ("Relay",)
    assert first.meta == {"type": "bridge", "level": "easy"}
    assert data.examples[1].supporting_titles == ("Relay", "Harbor")
    assert data.skipped == []


def test_2wiki_layout_keeps_evidences(tmp_path):
    data = read_dataset(write_json(tmp_path / "dev.json", TWOWIKI), "2wiki")
    example = data.examples[0]
    assert example.answers == ("Fomboni",)
    assert example.supporting_titles == ("Camille Paule", "Salima Machamba")
    assert example.paragraphs[0].text == "Camille Paule was the husband of Salima Machamba. He was a French gendarme."
    assert example.meta["evidences"][1] == ["Salima Machamba", "place of birth", "Fomboni"]


def test_musique_layout_with_aliases(tmp_path):
    data = read_dataset(write_jsonl(tmp_path / "musique.jsonl", MUSIQUE), "musique")
    example = data.examples[0]
    assert example.id == "2hop__1_2"
    assert example.answers == ("G. Stanley Hall", "Stanley Hall")  # the repeated alias is dropped
    assert example.supporting_titles == ("Journal", "APA")
    assert len(example.paragraphs) == 3
    assert example.meta["hops"] == 2


def test_musique_last_hop_is_a_single_hop_question_with_earlier_answers_written_in(tmp_path):
    relation = json.loads(json.dumps(MUSIQUE[0]))
    relation["id"] = "2hop__3_4"
    relation["question_decomposition"][1]["question"] = "#1 >> founder"
    dangling = json.loads(json.dumps(MUSIQUE[0]))
    dangling["id"] = "2hop__5_6"
    dangling["question_decomposition"][1]["question"] = "Who led #3?"
    renamed = json.loads(json.dumps(MUSIQUE[0]))
    renamed["id"] = "2hop__7_8"
    renamed["question_decomposition"][1]["answer"] = "Hall"
    path = write_jsonl(tmp_path / "musique.jsonl", [MUSIQUE[0], relation, dangling, renamed])

    data = read_dataset(path, "musique-last-hop")

    example = data.examples[0]
    assert example.id == "2hop__1_2/last-hop"
    assert example.question == "Who was the first president of APA?"
    assert example.answers == ("G. Stanley Hall", "Stanley Hall")  # the full question's aliases still count
    assert example.supporting_titles == ("APA",)
    assert example.meta == {"hops": 1, "multi_hop_question": MUSIQUE[0]["question"]}
    assert data.examples[1].answers == ("Hall",)  # a last step answering otherwise keeps only its own answer
    assert [(s.id, s.reason) for s in data.skipped] == [
        ("2hop__3_4", "the last hop is a knowledge-base relation, not a question"),
        ("2hop__5_6", "the last hop refers to #3, which is not an earlier step"),
    ]


def test_format_is_detected(tmp_path):
    assert detect_format(write_json(tmp_path / "a.json", HOTPOT)) is DatasetFormat.HOTPOTQA
    assert detect_format(write_json(tmp_path / "b.json", TWOWIKI)) is DatasetFormat.TWOWIKI
    assert detect_format(write_jsonl(tmp_path / "c.jsonl", MUSIQUE)) is DatasetFormat.MUSIQUE
    assert read_dataset(tmp_path / "c.jsonl").format is DatasetFormat.MUSIQUE


def test_malformed_hotpot_records_are_reported_and_skipped(tmp_path):
    records = copy.deepcopy(HOTPOT)
    no_answer = copy.deepcopy(HOTPOT[0]) | {"_id": "bad1"}
    del no_answer["answer"]
    missing_title = copy.deepcopy(HOTPOT[0]) | {"_id": "bad2", "supporting_facts": [["Nowhere", 0]]}
    # a sentence index past the paragraph's sentences is a known glitch of the official files: kept
    past_end = copy.deepcopy(HOTPOT[0]) | {"_id": "ok4", "supporting_facts": [["Harbor", 5]]}
    empty_question = copy.deepcopy(HOTPOT[0]) | {"_id": "bad4", "question": "  "}
    bad_context = copy.deepcopy(HOTPOT[0]) | {"_id": "bad5", "context": [["Relay"]]}
    duplicate = copy.deepcopy(HOTPOT[1])
    records += [no_answer, missing_title, past_end, empty_question, bad_context, duplicate, "not a record"]
    data = read_dataset(write_json(tmp_path / "hotpot.json", records), "hotpotqa")
    assert [e.id for e in data.examples] == ["h1", "h2", "h3", "ok4"]
    assert data.examples[3].supporting_titles == ("Harbor",)
    reasons = {s.id: s.reason for s in data.skipped}
    assert "'answer'" in reasons["bad1"]
    assert "Nowhere" in reasons["bad2"]
    assert "'question' is empty" in reasons["bad4"]
    assert "[title, sentences]" in reasons["bad5"]
    assert "already seen" in reasons["h2"]
    assert data.skipped[-1].id is None and data.skipped[-1].position == 9
    assert len(data.skipped) == 6


def test_malformed_musique_lines_are_reported_and_skipped(tmp_path):
    unanswerable = copy.deepcopy(MUSIQUE[0]) | {"id": "u", "answerable": False}
    no_support = copy.deepcopy(MUSIQUE[0]) | {"id": "n"}
    for p in no_support["paragraphs"]:
        p["is_supporting"] = False
    partial = {"id": "p", "question": "Who?"}
    path = write_jsonl(tmp_path / "m.jsonl", [MUSIQUE[0], "{not json", unanswerable, no_support, partial, ""])
    data = read_dataset(path, "musique")
    assert [e.id for e in data.examples] == ["2hop__1_2"]
    assert [(s.position, s.id) for s in data.skipped] == [(1, None), (2, "u"), (3, "n"), (4, "p")]
    assert "not valid JSON" in data.skipped[0].reason
    assert "unanswerable" in data.skipped[1].reason
    assert "is_supporting" in data.skipped[2].reason
    assert "'answer'" in data.skipped[3].reason and "'paragraphs'" in data.skipped[3].reason


def test_unreadable_files_raise_dataset_error(tmp_path):
    with pytest.raises(DatasetError, match="does not exist"):
        read_dataset(tmp_path / "missing.json", "hotpotqa")
    (tmp_path / "broken.json").write_text("[{", encoding="utf-8")
    with pytest.raises(DatasetError, match="not valid JSON"):
        read_dataset(tmp_path / "broken.json", "hotpotqa")
    with pytest.raises(DatasetError, match="no valid hotpotqa record"):
        read_dataset(write_json(tmp_path / "m.json", MUSIQUE), "hotpotqa")
    with pytest.raises(DatasetError, match="unknown dataset format"):
        read_dataset(write_json(tmp_path / "h.json", HOTPOT), "squad")


def test_a_title_that_names_two_paragraphs_keeps_both_and_the_record_counts(tmp_path):
    record = copy.deepcopy(TWOWIKI[0])
    title = record["context"][0][0]
    record["context"].append([title, ["An unrelated sentence.", "Another one.", "The one the fact points at."]])
    record["supporting_facts"].append([title, 2])
    data = read_dataset(write_json(tmp_path / "dev.json", [record]), "2wiki")
    assert data.skipped == [] and len(data.examples) == 1
    example = data.examples[0]
    same_title = [p for p in example.paragraphs if p.title == title]
    assert len(same_title) == 2 and same_title[0] != same_title[1]
    assert same_title[1] in example.supporting and same_title[0] in example.supporting
    from agentic_rag.eval.corpus import pool_paragraphs

    sources = [d.source for d in pool_paragraphs([example]) if d.title == title]
    assert sources == [title, f"{title} (2)"]  # two documents with ids of their own
