"""The graphs' settings: one typed model, validated once, printable, overridable per run.

A graph is built with a :class:`RAGConfig`; a run may override any field through LangGraph's
runtime context (``graph.invoke(..., context={"k": 2})`` or a ``RAGConfig``) or through
``config["configurable"]`` (``{"configurable": {"k": 2}}``, the way LangGraph Studio passes an
assistant's settings). Per-run values win over the graph's; other ``configurable`` keys (the
thread id, ...) are left alone.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from agentic_rag.errors import ConfigurationError
from agentic_rag.graphs.question_shape import looks_single_hop

__all__ = ["AnswerStyle", "CitationCheck", "RAGConfig", "SingleHopCheck", "config_from_options", "parse_setting", "settings_from",
           "GRAPH_SETTINGS_HELP", "SET_HELP", "STYLE_HELP", "FILTER_HELP", "filters_from"]

SingleHopCheck = Callable[[str], bool]
CitationCheck = Literal["lexical", "llm"]
AnswerStyle = Literal["short", "detailed", "report"]


# A short answer names one thing: past the first search's four passages, more of them were
# distractors it picked from (HotpotQA train, benchmarks/README.md); detailed answers draw on more.
SHORT_ANSWER_PASSAGES = 4
DETAILED_ANSWER_PASSAGES = 8


class RAGConfig(BaseModel):
    """Settings of the agentic and traditional graphs. Invalid values raise :class:`ConfigurationError`."""

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    k: int = Field(default=4, ge=1, description="Passages each search asks for.")
    passage_chars: int = Field(default=800, ge=40, description="Characters of a passage shown in a prompt.")
    max_judged: int = Field(default=8, ge=1, description="Passages one judge call reads.")
    max_answer_passages: int | None = Field(
        default=None, ge=1,
        description="Passages the answer reads, the judge's picks first past this many "
        f"(default: {SHORT_ANSWER_PASSAGES} for a short answer, {DETAILED_ANSWER_PASSAGES} for a detailed one or a report).",
    )
    structured_attempts: int = Field(default=2, ge=1, description="Tries of a structured model call (within the LLM budget).")
    planner: bool = Field(
        default=False, description="A model call chooses the first searches and their tools; off: the question is the first search.",
    )
    tool_attempts: int = Field(default=3, ge=1, description="Tries of a tool call failing with a transient error.")
    tool_retry_wait: float = Field(default=0.5, ge=0, description="Seconds before the first retry of a tool; doubles each time.")
    follow_up_tools: tuple[str, ...] | None = Field(
        default=None, description="Query tools the judge's follow-up queries run on (default: the first query tool).",
    )
    entity_searches: bool = Field(
        default=True,
        description="A comparison question's first round also searches each name it compares (no model call).",
    )
    compare_values: bool = Field(
        default=True,
        description="A short answer to a comparison of dates or numbers (which came first, which is larger): the "
        "model copies each name's value, the code compares (one call, and the usual answer call when the values do "
        "not settle it; the traditional graph does not).",
    )
    answer_from_judge: bool = Field(
        default=False, description="A judge answer that asks for nothing more is the final answer (saves the answer call).",
    )
    adaptive: bool = Field(
        default=True,
        description="A cited first-round judge answer is final when the question looks single-hop or the cited passages "
        "hold its words (one model call in all).",
    )
    direct_coverage: float = Field(
        default=0.75, gt=0, le=1,
        description="Share of the question's content words, its first one included, the cited passages must hold.",
    )
    single_hop: SingleHopCheck | None = Field(
        default=looks_single_hop,
        description="Check of the question's text for the adaptive path (a plain function to bool), or None for none.",
        exclude=True,
    )
    citation_check: CitationCheck = Field(
        default="lexical", description="lexical: free word overlap; llm: the model checks each citation (within the budget).",
    )
    style: AnswerStyle = Field(
        default="short",
        description="short: a few words (benchmarks); detailed: a direct first sentence, then support, every fact cited; "
        "report: a research report (Agent.research).",
    )
    strict: bool = Field(default=False, description="Drop the sentences whose citations do not support them.")
    instructions: str = Field(
        default="", max_length=4000,
        description="The reader's instructions for the answer's form and language (a chat system message), detailed style.",
    )
    max_subquestions: int = Field(default=4, ge=2, le=6, description="Most sub-questions a research run plans.")
    filters: dict[str, str | list[str]] | None = Field(
        default=None,
        description='Restrict every search of the knowledge base: {"source": name, folder or glob}; on a LangChain '
        "store, other keys are metadata equality. Tools of your own that take no filters are searched unfiltered.",
    )

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise ConfigurationError(_problems(exc)) from None

    @field_validator("single_hop", mode="before")
    @classmethod
    def _plain_function(cls, value: Any) -> Any:
        if value is not None and (not callable(value) or inspect.iscoroutinefunction(value)):
            raise ValueError("single_hop must be a plain (not async) function of the question, or None")
        return value

    @field_validator("follow_up_tools", mode="before")
    @classmethod
    def _tool_names(cls, value: Any) -> Any:
        if value is None:
            return None
        if isinstance(value, str):
            value = [value]
        return tuple(dict.fromkeys(value))

    def override(self, values: Mapping[str, Any] | RAGConfig | None) -> RAGConfig:
        """This config with ``values`` (a mapping of fields, or another config's fields it set) in place."""
        if values is None:
            return self
        if isinstance(values, RAGConfig):
            values = {name: getattr(values, name) for name in values.model_fields_set}
        changed = {name: value for name, value in values.items() if name in type(self).model_fields}
        if not changed:
            return self
        # Only the fields set so far and the changed ones count as set, so defaults stay told apart.
        return RAGConfig(**{**{name: getattr(self, name) for name in self.model_fields_set}, **changed})

    def for_run(self, context: Any = None, config: Mapping[str, Any] | None = None) -> RAGConfig:
        """The settings of one run: ``config["configurable"]`` fields, then the runtime context's, over these."""
        configurable = (config or {}).get("configurable") or {}
        merged = self.override({k: v for k, v in configurable.items() if k in type(self).model_fields})
        if context is not None and not isinstance(context, (Mapping, RAGConfig)):
            raise ConfigurationError(f"the run context must be a RAGConfig or a mapping of its fields, not {type(context).__name__}")
        if isinstance(context, Mapping):
            unknown = sorted(set(context) - set(type(self).model_fields))
            if unknown:
                raise ConfigurationError(f"unknown graph setting(s) in the run context: {', '.join(unknown)}")
        return merged.override(context)

    def answer_passages(self) -> int:
        """How many passages the answer reads: ``max_answer_passages``, or the style's default."""
        if self.max_answer_passages is not None:
            return self.max_answer_passages
        return SHORT_ANSWER_PASSAGES if self.style == "short" else DETAILED_ANSWER_PASSAGES

    def settings(self) -> dict[str, Any]:
        """Every field and its value (``single_hop`` included)."""
        return {name: getattr(self, name) for name in type(self).model_fields}

    def describe(self) -> str:
        """One ``name = value`` line a field, for printing."""
        lines = []
        for name, value in self.settings().items():
            shown = getattr(value, "__name__", repr(value)) if callable(value) else repr(value)
            lines.append(f"{name} = {shown}")
        return "\n".join(lines)

    @classmethod
    def field_help(cls) -> str:
        """Each field with its default and description, for ``--help`` texts and docs."""
        rows = []
        for name, info in cls.model_fields.items():
            default = info.default
            shown = getattr(default, "__name__", repr(default)) if callable(default) else repr(default)
            rows.append(f"{name} (default {shown}): {info.description}")
        return "\n".join(rows)


def _problems(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors():
        field = ".".join(str(p) for p in error["loc"]) or "config"
        message = str(error["msg"]).removeprefix("Value error, ")
        parts.append(f"{field}: {message} (got {error.get('input')!r})" if "input" in error else f"{field}: {message}")
    return "invalid graph setting: " + "; ".join(parts)


def config_from_options(
    *, k: int | None = None, adaptive_mode: str | None = None, overrides: Mapping[str, Any] | None = None,
    base: RAGConfig | None = None,
) -> RAGConfig:
    """The config the command line, the servers and the evaluation harness build from their options.

    ``adaptive_mode`` is a named mode (:mod:`~agentic_rag.graphs.adaptive`); ``overrides`` are any
    fields (``--set name=value``). Later arguments win.
    """
    from agentic_rag.graphs.adaptive import adaptive_settings

    values: dict[str, Any] = {}
    if k is not None:
        values["k"] = k
    if adaptive_mode is not None:
        values |= adaptive_settings(adaptive_mode)
    values |= dict(overrides or {})
    unknown = sorted(set(values) - set(RAGConfig.model_fields))
    if unknown:
        raise ConfigurationError(f"unknown graph setting(s): {', '.join(unknown)}; see RAGConfig")
    return (base or RAGConfig()).override(values)


def parse_setting(text: str) -> tuple[str, Any]:
    """``name=value`` from the command line: the value read as JSON where it parses (numbers, true, null), else text."""
    import json

    name, sep, raw = text.partition("=")
    name = name.strip()
    if not sep or not name:
        raise ConfigurationError(f"a setting is name=value, not {text!r}")
    if name not in RAGConfig.model_fields or name == "single_hop":
        raise ConfigurationError(f"unknown graph setting {name!r}; choose from: {', '.join(_SETTABLE)}")
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        value = raw
    return name, value


_SETTABLE = [name for name in RAGConfig.model_fields if name != "single_hop"]


def settings_from(texts: list[str] | None) -> dict[str, Any]:
    """``--set name=value`` options as a mapping of fields."""
    return dict(parse_setting(text) for text in texts or [])


def filters_from(texts: list[str] | None) -> dict[str, str | list[str]] | None:
    """``--filter key=value`` options as search filters; a key given twice matches either value."""
    filters: dict[str, str | list[str]] = {}
    for text in texts or []:
        key, sep, value = text.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not key or not value:
            raise ConfigurationError(f"a filter is key=value, e.g. source=runbooks/ or kind=team; got {text!r}")
        if key in filters:
            before = filters[key]
            filters[key] = [*(before if isinstance(before, list) else [before]), value]
        else:
            filters[key] = value
    return filters or None


FILTER_HELP = ("Search only some documents, key=value (repeatable): source=<name, folder or glob>, or a metadata "
               "field (type=md, a front-matter or JSON/CSV record field).")
STYLE_HELP = "detailed: a direct answer, then its support, every fact cited; short: a few words (as the benchmarks score)."
SET_HELP = "A graph setting, name=value (repeatable), e.g. --set max_judged=6; the settings are listed below."
GRAPH_SETTINGS_HELP = "Graph settings (--set name=value):\n\n" + "\n\n".join(
    f"{name} (default {getattr(info.default, '__name__', repr(info.default))}): {info.description}"
    for name, info in RAGConfig.model_fields.items()
    if name != "single_hop"
)
