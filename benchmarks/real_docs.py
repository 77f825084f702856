"""Real documentation benchmark: does the passage that answers a question reach the model? No LLM.

Public documentation sets are taken from source distributions on PyPI at pinned versions
(``benchmarks/real_docs_questions.json``), downloaded with pip into a cache (never committed), and
indexed twice with the default embeddings:

- ``sections``: what ``agentic-rag index`` does now (markup parsed into sections, chunks within a
  section sized to what the embedder reads, breadcrumbs; each match read with its section around
  it, up to 800 characters, as the search tool returns it);
- ``windows``: the earlier ingestion, for comparison (the file's raw text in 800-character windows
  with 100 characters of overlap, no sections; a match read as it is).

For each question the top 5 matches of the hybrid search are read. Reported per kind of question:
key facts found (share of a question's key facts, any alias, that some read passage states), source
hit (a read passage comes from a key fact's file), characters read (the prompt a reader pays), and
the share of read passages that show raw markup (roles, directives, heading underlines, link syntax).

    .venv/bin/python benchmarks/real_docs.py [--cache DIR] [--k 5]

Writes benchmarks/results/real_docs.json and real_docs.md. With ``--answers traditional,agentic``
it also asks every question of the ``sections`` index with the local model (``detailed`` answers)
and writes real_docs_answers.json and .md: key facts stated in the answer, cited claims supported,
answers and quotes showing markup, model calls, seconds, and prompt tokens computed (not read from
llama.cpp's cache).
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agentic_rag.eval.report import environment_info  # noqa: E402
from agentic_rag.tools.chunking import Chunker  # noqa: E402
from agentic_rag.tools.embeddings import default_embeddings  # noqa: E402
from agentic_rag.tools.knowledge_base import KnowledgeBase  # noqa: E402
from agentic_rag.tools.loaders import SUPPORTED_EXTENSIONS  # noqa: E402
from agentic_rag.tools.retrieval import read_sections  # noqa: E402

QUESTIONS = Path(__file__).with_name("real_docs_questions.json")
RESULTS = Path(__file__).with_name("results")
DOC_EXTENSIONS = {".rst", ".md", ".txt"}
# Markup of the sources that a reader should never see: Sphinx roles, directives, heading underlines,
# Markdown link syntax; in passages also Markdown headings and bold (an answer may use those itself).
# A Markdown extension's own block syntax, such as pymdown's "///", is not counted.
SOURCE_MARKUP = re.compile(r":(?:class|func|meth|attr|ref|doc|data|exc|mod|obj|py:\w+):`|^\s*\.\. [\w:-]+::"
                           r"|^[=\-~^*#]{4,}\s*$|\]\(", re.MULTILINE)
MARKDOWN_MARKUP = re.compile(r"^#{1,6}\s|\*\*[^*\s]", re.MULTILINE)
_FENCED = re.compile(r"^(`{3,})[^\n]*\n.*?^\1[ \t]*$", re.MULTILINE | re.DOTALL)


def shows_markup(text: str, *, markdown: bool = True) -> bool:
    """Whether ``text`` shows markup outside its fenced code blocks (a ``#`` comment in code is code)."""
    prose = _FENCED.sub("", text)
    return bool(SOURCE_MARKUP.search(prose) or (markdown and MARKDOWN_MARKUP.search(prose)))


def fetch_docs(package: str, version: str, docs: str, cache: Path) -> Path:
    """The documentation folder of ``package==version``'s source distribution, downloaded once into ``cache``."""
    target = cache / f"{package}-{version}"
    if (target / docs).is_dir():
        return target / docs
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", ":all:",
                        f"{package}=={version}", "-d", tmp], check=True)
        archive = next(Path(tmp).glob("*.tar.gz"))
        with tarfile.open(archive) as tar:
            prefix = f"{tar.getnames()[0].split('/')[0]}/{docs}/"
            members = [m for m in tar.getmembers() if m.name.startswith(prefix) and m.isfile()
                       and Path(m.name).suffix in DOC_EXTENSIONS]
            for member in members:
                member.name = member.name[len(prefix.split("/")[0]) + 1:]
            tar.extractall(target, members=members, filter="data")
    return target / docs


def _normal(text: str) -> str:
    return " ".join(text.lower().split())


def build(kind: str, folder: Path, embeddings: Any) -> tuple[KnowledgeBase, float]:
    started = time.perf_counter()
    if kind == "sections":
        kb = KnowledgeBase.from_paths(folder, embeddings)
    else:
        kb = KnowledgeBase(embeddings)
        kb._chunker = Chunker(800, 100)  # the earlier ingestion: raw text in fixed windows
        records = [(p.relative_to(folder).as_posix(), p.read_text("utf-8", "replace"), p.stem)
                   for p in sorted(folder.rglob("*")) if p.is_file() and p.suffix in SUPPORTED_EXTENSIONS]
        kb.add_texts(records)
    return kb, time.perf_counter() - started


def score(kb: KnowledgeBase, kind: str, question: dict[str, Any], k: int) -> dict[str, Any]:
    found = kb.search(question["question"], k=k)
    passages = read_sections(kb, found) if kind == "sections" else found
    read = _normal(" ".join(f"{p.title or ''} {p.text}" for p in passages))
    facts = question["facts"]
    stated = [any(_normal(v) in read for v in [f["value"], *f["aliases"]]) for f in facts]
    sources = {p.source for p in passages}
    return {
        "facts": sum(stated) / len(facts),
        "source_hit": float(any(f["source"] in sources for f in facts)),
        "chars": sum(len(p.text) for p in passages),
        "markup": sum(shows_markup(p.text) for p in passages) / max(1, len(passages)),
        "passages": [p.id for p in passages],
    }


def answer_rows(kb: KnowledgeBase, corpus: str, questions: list[dict[str, Any]], graphs: list[str],
                model: Any) -> list[dict[str, Any]]:
    """Each question asked of ``kb`` by each graph with ``model``, scored (one graph after the other's
    questions, so neither reads the other's prompts from llama.cpp's cache)."""
    from agentic_rag import Agent
    from agentic_rag.eval.research import score_research_answer
    from agentic_rag.graphs import RAGConfig

    rows = []
    for graph in graphs:
        agent = Agent(model, knowledge_base=kb, graph=graph, config=RAGConfig(style="detailed"))
        for question in questions:
            answer = agent.ask(question["question"])
            facts = [{"any": [f["value"], *f["aliases"]]} for f in question["facts"]]
            score = score_research_answer(answer, facts)
            usage = answer.usage
            rows.append({
                "corpus": corpus, "graph": graph, "question_kind": question["kind"], "question": question["question"],
                "facts": score.recall, "cited_claims": score.cited_claims, "supported_claims": score.supported_claims,
                "markup_in_answer": shows_markup(answer.text, markdown=False),
                "markup_quotes": sum(shows_markup(c.quote or "") for c in answer.citations),
                "llm_calls": usage.llm_calls, "seconds": round(usage.seconds, 1),
                "computed_prompt_tokens": usage.prompt_tokens - usage.cached_prompt_tokens,
                "exit_reason": answer.exit_reason.value, "answer": answer.text,
            })
            print(f"{graph:12} {question['kind']:10} facts {score.recall:.2f} {usage.seconds:6.1f}s  {question['question'][:60]}",
                  flush=True)
    return rows


def write_answers(rows: list[dict[str, Any]], spec: dict[str, Any], command: str) -> None:
    summary = []
    for graph in dict.fromkeys(r["graph"] for r in rows):
        for group in ("one-fact", "procedure", "comparison", "two-asks", "all"):
            chosen = [r for r in rows if r["graph"] == graph and (group == "all" or r["question_kind"] == group)]
            if not chosen:
                continue
            cited = sum(r["cited_claims"] for r in chosen)
            summary.append({
                "graph": graph, "questions": group, "n": len(chosen),
                "facts": round(statistics.mean(r["facts"] for r in chosen), 3),
                "supported": round(sum(r["supported_claims"] for r in chosen) / cited, 3) if cited else 0.0,
                "markup_answers": sum(r["markup_in_answer"] for r in chosen),
                "markup_quotes": sum(r["markup_quotes"] for r in chosen),
                **{m: round(statistics.mean(r[m] for r in chosen), 1) for m in ("llm_calls", "seconds", "computed_prompt_tokens")},
            })
    env = environment_info()
    record = {"command": command, "environment": env, "summary": summary, "answers": rows}
    (RESULTS / "real_docs_answers.json").write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
    lines = [
        "# Real documentation: detailed answers with the local model", "",
        f"Command: `{command}`  ", f"Commit: {env.get('commit')}; {env.get('date')}  ",
        "Corpora: " + ", ".join(f"{c['package']} {c['version']}" for c in spec["corpora"].values())
        + "; the `sections` index; key facts stated: share of a question's key facts (any alias) in the answer text.", "",
        "| graph | questions | n | key facts stated | cited claims supported | answers with markup | quotes with markup "
        "| LLM calls | seconds | computed prompt tokens |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        *(f"| {s['graph']} | {s['questions']} | {s['n']} | {s['facts']:.2f} | {s['supported']:.0%} | {s['markup_answers']} "
          f"| {s['markup_quotes']} | {s['llm_calls']} | {s['seconds']} | {s['computed_prompt_tokens']:.0f} |" for s in summary),
        "",
    ]
    (RESULTS / "real_docs_answers.md").write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "agentic-rag" / "real-docs")
    parser.add_argument("--k", type=int, default=5)
    parser.add_argument("--answers", default="", help="comma-separated graphs (traditional, agentic) to answer with")
    parser.add_argument("--model", default="local", help="the chat model for --answers")
    parser.add_argument("--limit", type=int, default=0, help="with --answers: the first N questions of each corpus")
    args = parser.parse_args()
    graphs = [g for g in args.answers.split(",") if g]
    model = None
    if graphs:
        from agentic_rag.agent.models import resolve_chat_model

        model = resolve_chat_model(args.model)
    answers: list[dict[str, Any]] = []
    spec = json.loads(QUESTIONS.read_text("utf-8"))
    embeddings = default_embeddings()
    rows: list[dict[str, Any]] = []
    builds: list[dict[str, Any]] = []
    for name, corpus in spec["corpora"].items():
        folder = fetch_docs(corpus["package"], corpus["version"], corpus["docs"], args.cache)
        for question in (q for q in spec["questions"] if q["corpus"] == name):
            for fact in question["facts"]:  # every key fact is written in the file it names
                raw = _normal((folder / fact["source"]).read_text("utf-8"))
                assert any(_normal(v) in raw for v in [fact["value"], *fact["aliases"]]), (name, fact)
        for kind in ("windows", "sections"):
            kb, seconds = build(kind, folder, embeddings)
            builds.append({"corpus": name, "kind": kind, "files": len(kb.sources), "chunks": len(kb), "seconds": round(seconds, 1)})
            for question in (q for q in spec["questions"] if q["corpus"] == name):
                rows.append({"corpus": name, "kind": kind, "question_kind": question["kind"],
                             "question": question["question"], **score(kb, kind, question, args.k)})
            if kind == "sections" and graphs:
                mine = [q for q in spec["questions"] if q["corpus"] == name]
                answers += answer_rows(kb, name, mine[: args.limit or None], graphs, model)
    summary = []
    for kind in ("windows", "sections"):
        for group in ("one-fact", "procedure", "comparison", "two-asks", "all"):
            chosen = [r for r in rows if r["kind"] == kind and (group == "all" or r["question_kind"] == group)]
            if chosen:
                summary.append({"ingestion": kind, "questions": group, "n": len(chosen),
                                **{m: round(statistics.mean(r[m] for r in chosen), 3) for m in ("facts", "source_hit", "chars", "markup")}})
    RESULTS.mkdir(exist_ok=True)
    record = {"command": "python benchmarks/real_docs.py", "environment": environment_info(), "k": args.k,
              "builds": builds, "summary": summary, "questions": rows}
    (RESULTS / "real_docs.json").write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
    env = record["environment"]
    lines = [
        "# Real documentation: key facts reaching the reader (no LLM)", "",
        "Command: `python benchmarks/real_docs.py`  ",
        f"Commit: {env.get('commit')}; {env.get('date')}  ",
        "Corpora: " + ", ".join(f"{c['package']} {c['version']} ({c['docs']}/)" for c in spec["corpora"].values())
        + f"; {len(spec['questions'])} questions; hybrid search, top {args.k}.", "",
        "| ingestion | questions | n | key facts found | source hit | chars read | passages with markup |",
        "|---|---|---:|---:|---:|---:|---:|",
        *(f"| {s['ingestion']} | {s['questions']} | {s['n']} | {s['facts']:.2f} | {s['source_hit']:.2f} | {s['chars']:.0f} | {s['markup']:.2f} |"
          for s in summary),
        "", "| corpus | ingestion | files | chunks | index seconds |", "|---|---|---:|---:|---:|",
        *(f"| {b['corpus']} | {b['kind']} | {b['files']} | {b['chunks']} | {b['seconds']} |" for b in builds), "",
    ]
    (RESULTS / "real_docs.md").write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))
    if graphs:
        write_answers(answers, spec, "python " + " ".join(["benchmarks/real_docs.py", *sys.argv[1:]]))


if __name__ == "__main__":
    main()
