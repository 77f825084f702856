"""Bring your own LangChain store: the agent searches it and cites each document it used.

    .venv/bin/python examples/bring_your_own_store.py [--model local:qwen2.5-coder-0.5b]

Any LangChain VectorStore (InMemoryVectorStore here; Chroma, PGVector, FAISS, ...), any
BaseRetriever, or a retriever tool works the same way. The store is searched by meaning only: the
knowledge base's keyword side is not there.
"""

from __future__ import annotations

import argparse

from langchain_core.documents import Document
from langchain_core.vectorstores import InMemoryVectorStore

from agentic_rag import Agent, default_embeddings

QUESTION = "Who leads the team that owns the billing service?"

NOTES = [
    Document("The billing service is owned by the Ledger team.", metadata={"source": "services/billing.md"}),
    Document("Priya Raman leads the Ledger team from the Leeds office.", metadata={"source": "teams/ledger.md"}),
    Document("The canteen serves lunch from noon until two.", metadata={"source": "handbook/canteen.md"}),
]


def build_agent(model, embeddings, **options) -> Agent:
    """An agent over an in-memory LangChain store holding the notes above."""
    store = InMemoryVectorStore(embeddings)
    store.add_documents(NOTES)
    return Agent(model, knowledge_base=store, **options)  # or store.as_retriever(), or tools=[create_retriever_tool(...)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="local")
    args = parser.parse_args()
    answer = build_agent(args.model, default_embeddings()).ask(QUESTION)
    print(answer.text)
    for citation in answer.citations:
        print(f"[{citation.marker}] {citation.source}: {citation.quote}")
    if answer.notice:
        print(answer.notice)


if __name__ == "__main__":
    main()
