"""Fuzzing the readers of untrusted input: file loaders, the index manifest, the HTTP request schema.

Bounded and deterministic (a fixed seed, a few hundred examples), so it runs in every `make test`.
Each reader must end in a result or its own clear error, never another exception.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from agentic_rag.errors import KnowledgeBaseError
from agentic_rag.tools.loaders import SourceFile, parse_file
from agentic_rag.tools.store import read_manifest

FUZZ = settings(max_examples=150, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=30,
)


@seed(20261203)
@FUZZ
@given(data=st.binary(max_size=600) | json_values.map(lambda v: json.dumps(v).encode()),
       suffix=st.sampled_from([".json", ".jsonl", ".md", ".txt", ".html", ".pdf"]))
def test_a_loader_returns_documents_or_a_skip_reason_for_any_bytes(data, suffix):
    source = SourceFile(Path(f"fuzz{suffix}"), f"fuzz{suffix}", None)
    documents, skipped = parse_file(source, data)
    assert all(d.text.strip() for d in documents)
    assert all(isinstance(reason, str) and reason for _, reason in skipped)
    assert documents or skipped


@seed(20261203)
@FUZZ
@given(manifest=st.dictionaries(
    st.sampled_from(["format", "format_version", "generation", "embedding", "chunking", "count", "roots",
                     "generation_files", "files", "texts"]), json_values, max_size=10))
def test_the_manifest_reader_loads_or_names_the_problem(tmp_path_factory, manifest):
    directory = tmp_path_factory.mktemp("manifest")
    manifest = {"format": "agentic-rag/knowledge-base", "format_version": 1, **manifest}
    (directory / "manifest.json").write_text(json.dumps(manifest))
    try:
        read_manifest(directory)
    except KnowledgeBaseError as exc:
        assert "\n" not in str(exc)


@seed(20261203)
@FUZZ
@given(body=json_values | st.fixed_dictionaries({
    "model": st.just("agentic-rag"),
    "messages": st.lists(st.fixed_dictionaries({
        "role": st.sampled_from(["system", "user", "assistant", "tool", "developer", "robot"]),
        "content": st.none() | st.text(max_size=40) | st.lists(st.fixed_dictionaries(
            {"type": st.sampled_from(["text", "image_url"]), "text": st.text(max_size=20) | st.none()}), max_size=3),
    }), max_size=5),
    "style": st.sampled_from(["short", "detailed", "poem", None]),
}))
def test_the_chat_request_schema_accepts_or_refuses_any_json(body):
    pytest.importorskip("fastapi")
    from pydantic import ValidationError

    from agentic_rag.serve.api_errors import APIError
    from agentic_rag.serve.openai_protocol import ChatCompletionRequest, question_and_history

    try:
        request = ChatCompletionRequest.model_validate(body)
        question_and_history(request.messages)
        request.run_settings()
    except (ValidationError, APIError):
        pass
