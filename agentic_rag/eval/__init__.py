"""Evaluation on multi-hop QA: dataset readers, pooled corpora, metrics, the runner and its report.

``agentic-rag eval`` (see :mod:`agentic_rag.eval.command`) runs it from the command line.
"""

from agentic_rag.eval.corpus import CorpusDocument, PooledCorpus, load_or_build_corpus, pool_paragraphs
from agentic_rag.eval.datasets import Dataset, DatasetError, DatasetFormat, Paragraph, QAExample, SkippedRecord, read_dataset
from agentic_rag.eval.metrics import bootstrap_ci, exact_match, f1_score, normalize_answer, question_metrics
from agentic_rag.eval.runner import EvalConfig, EvalError, EvalResult, run_eval, sample_examples

__all__ = [
    "CorpusDocument",
    "Dataset",
    "DatasetError",
    "DatasetFormat",
    "EvalConfig",
    "EvalError",
    "EvalResult",
    "Paragraph",
    "PooledCorpus",
    "QAExample",
    "SkippedRecord",
    "bootstrap_ci",
    "exact_match",
    "f1_score",
    "load_or_build_corpus",
    "normalize_answer",
    "pool_paragraphs",
    "question_metrics",
    "read_dataset",
    "run_eval",
    "sample_examples",
]
