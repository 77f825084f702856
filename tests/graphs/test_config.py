"""RAGConfig: validated once, printable, overridable per run."""

from __future__ import annotations

import pytest

from agentic_rag.errors import ConfigurationError
from agentic_rag.graphs import Budget, RAGConfig, build_agentic_graph
from agentic_rag.graphs.config import config_from_options, parse_setting, settings_from
from agentic_rag.graphs.question_shape import looks_single_hop
from tests.fakes import ScriptedChatModel


@pytest.mark.parametrize(
    "values, field",
    [
        ({"k": 0}, "k"),
        ({"direct_coverage": 0}, "direct_coverage"),
        ({"citation_check": "vibes"}, "citation_check"),
        ({"single_hop": "yes"}, "single_hop"),
        ({"max_judged": "many"}, "max_judged"),
        ({"no_such_setting": 1}, "no_such_setting"),
    ],
)
def test_bad_values_are_configuration_errors_naming_the_field(values, field):
    with pytest.raises(ConfigurationError, match=field):
        RAGConfig(**values)


def test_override_keeps_what_was_set_and_validates_the_change():
    config = RAGConfig(k=2)
    changed = config.override({"max_judged": 5, "thread_id": "ignored"})
    assert (changed.k, changed.max_judged) == (2, 5) and config.max_judged == 8
    assert changed.model_fields_set == {"k", "max_judged"}
    assert config.override({}) is config
    with pytest.raises(ConfigurationError, match="k"):
        config.override({"k": -1})


def test_describe_prints_every_field_and_the_wording_check_by_name():
    text = RAGConfig(k=3).describe()
    assert "k = 3" in text and f"single_hop = {looks_single_hop.__name__}" in text
    assert len(text.splitlines()) == len(RAGConfig.model_fields)


def test_options_and_set_flags_build_the_same_config():
    config = config_from_options(k=2, adaptive_mode="passages", overrides=settings_from(["max_judged=5", "planner=true"]))
    assert (config.k, config.single_hop, config.max_judged, config.planner) == (2, None, 5, True)
    assert config_from_options(adaptive_mode="off").adaptive is False
    assert parse_setting("citation_check=llm") == ("citation_check", "llm")
    for bad in ["k", "=3", "nope=1", "single_hop=none"]:
        with pytest.raises(ConfigurationError):
            parse_setting(bad)


def _two_passage_run(search_tool, **invoke_options):
    """A run whose judge answers at once; the answer step records the passages it read."""
    model = ScriptedChatModel(script=[{"answer": "Harbor", "sources": [1], "next_query": ""},
                                      {"answer": "Harbor", "sources": [1]}])
    graph = build_agentic_graph(model, [search_tool], RAGConfig(k=3, adaptive=False))
    answer = graph.invoke({"question": "Which team owns the Relay service?", "budget": Budget()}, **invoke_options)["answer"]
    return [s for s in answer.steps if s.kind == "search"][0].detail.found


def test_a_run_overrides_the_graphs_settings_through_the_context_or_configurable(search_tool):
    assert len(_two_passage_run(search_tool)) == 3
    assert len(_two_passage_run(search_tool, context={"k": 1})) == 1
    assert len(_two_passage_run(search_tool, context=RAGConfig(k=2))) == 2
    assert len(_two_passage_run(search_tool, config={"configurable": {"k": 1}})) == 1


def test_a_bad_per_run_setting_is_a_configuration_error(search_tool):
    with pytest.raises(ConfigurationError, match="nonsense"):
        _two_passage_run(search_tool, context={"nonsense": 1})
    with pytest.raises(ConfigurationError, match="k"):
        _two_passage_run(search_tool, config={"configurable": {"k": 0}})
