"""Retrieval tools: the knowledge base (chunk, embed, FAISS + BM25, persist), its parts, the Retriever protocol."""

from __future__ import annotations

from agentic_rag.tools.chunking import Chunk, Chunker
from agentic_rag.tools.embeddings import DEFAULT_EMBEDDING_MODEL_ID, default_embeddings, embedding_model_id
from agentic_rag.tools.fusion import reciprocal_rank_fusion
from agentic_rag.tools.keyword_index import KeywordIndex
from agentic_rag.tools.knowledge_base import IndexReport, KnowledgeBase, SearchMode
from agentic_rag.tools.loaders import Document, LoadResult, load_paths
from agentic_rag.tools.retriever import Retriever

__all__ = [
    "KnowledgeBase",
    "Retriever",
    "IndexReport",
    "SearchMode",
    "Chunk",
    "Chunker",
    "Document",
    "LoadResult",
    "load_paths",
    "KeywordIndex",
    "reciprocal_rank_fusion",
    "default_embeddings",
    "embedding_model_id",
    "DEFAULT_EMBEDDING_MODEL_ID",
]
