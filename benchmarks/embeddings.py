"""Embedding throughput on 2 CPU cores, and what each speed-up costs in retrieval.

The default embeddings (all-MiniLM-L6-v2 from the packaged weights) embed the pooled paragraphs of
a HotpotQA train file, configured several ways; each way is timed (passages per second, median of
``--repeats``) and judged by dense recall@5: the share of each question's gold supporting
paragraphs among the 5 nearest paragraphs (cosine, exact search), against the baseline's recall.

Ways: the baseline (batch 32, 256 word pieces, the default until 128 was measured here); other batch sizes; a shorter ``max_seq_length``;
torch's dynamic int8 quantisation of the model's linear layers (no new dependency); and the model
exported to ONNX and run by ONNX Runtime (run only where ``onnx`` is installed).

    .venv/bin/python benchmarks/embeddings.py                 # about 10 minutes
    .venv/bin/python benchmarks/embeddings.py --limit 300     # quicker

Writes benchmarks/results/embeddings.json and embeddings.md.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agentic_rag.eval.datasets import read_dataset  # noqa: E402
from agentic_rag.tools.embeddings import default_embeddings  # noqa: E402

DEFAULT_DATASET = ROOT.parent / "shared" / "data" / "hotpotqa" / "train_100.json"


def _ways() -> dict[str, dict[str, Any]]:
    return {
        "baseline (batch 32, 256 pieces)": {},
        "batch 16": {"batch_size": 16},
        "batch 64": {"batch_size": 64},
        "max_seq_length 128": {"max_seq_length": 128},
        "int8 dynamic quantisation": {"quantise": True},
        "int8 + max_seq_length 128": {"quantise": True, "max_seq_length": 128},
        "ONNX Runtime fp32 + max_seq_length 128": {"onnx": True, "max_seq_length": 128},
        "ONNX Runtime fp32, fused attention, 128": {"onnx": True, "fuse": True, "max_seq_length": 128},
        "ONNX Runtime int8, fused attention, 128": {"onnx": True, "fuse": True, "int8": True, "max_seq_length": 128},
    }


def _model(way: dict[str, Any]) -> Any:
    """The SentenceTransformer behind the default embeddings, set up ``way``."""
    import torch

    # 256: the model's own setting, the baseline; langchain_huggingface keeps the SentenceTransformer in _client
    model = default_embeddings(max_seq_length=way.get("max_seq_length", 256))._client
    if way.get("quantise"):
        model = torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
    if way.get("onnx"):
        return _OnnxEncoder(model, fuse=way.get("fuse", False), int8=way.get("int8", False))
    return model


class _OnnxEncoder:
    """The same transformer exported to ONNX and run by ONNX Runtime, mean-pooled and normalised as
    sentence-transformers does (needs ``pip install onnx`` for the export; onnxruntime comes with chromadb).

    ``fuse``: exported with eager attention and passed through ONNX Runtime's transformer optimizer,
    which fuses attention, layer norms and GELU; ``int8``: then its dynamic int8 quantisation."""

    def __init__(self, model: Any, fuse: bool = False, int8: bool = False) -> None:
        import tempfile

        import onnxruntime
        import torch

        self.tokenizer, self.max_length = model.tokenizer, model.max_seq_length
        transformer = model[0].auto_model.eval()
        if fuse:
            import transformers

            transformer = transformers.AutoModel.from_pretrained(
                model[0].auto_model.name_or_path, attn_implementation="eager").eval()

        class Hidden(torch.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.transformer = transformer

            def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
                return self.transformer(input_ids=input_ids, attention_mask=attention_mask,
                                        token_type_ids=token_type_ids).last_hidden_state

        self.names = ["input_ids", "attention_mask", "token_type_ids"]
        sample = self.tokenizer(["a b", "c"], padding=True, return_tensors="pt")
        path = Path(tempfile.mkdtemp()) / "minilm.onnx"
        axes = {name: {0: "batch", 1: "pieces"} for name in [*self.names, "hidden"]}
        torch.onnx.export(Hidden(), tuple(sample[n] for n in self.names), str(path), input_names=self.names,
                          output_names=["hidden"], dynamic_axes=axes, opset_version=17, dynamo=False)
        if fuse:
            from onnxruntime.transformers.optimizer import optimize_model

            config = transformer.config
            optimize_model(str(path), model_type="bert", num_heads=config.num_attention_heads,
                           hidden_size=config.hidden_size).save_model_to_file(str(path))
        if int8:
            import onnx
            from onnxruntime.quantization import QuantType, quantize_dynamic

            quantised = path.with_name("minilm-int8.onnx")
            quantize_dynamic(str(path), str(quantised), weight_type=QuantType.QInt8,
                             extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
            path = quantised
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = torch.get_num_threads()
        self.session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    def encode(self, texts: list[str], batch_size: int, **_: Any) -> np.ndarray:
        order = np.argsort([-len(t) for t in texts])  # similar lengths batched together, as sentence-transformers does
        out = np.zeros((len(texts), 384), np.float32)
        for start in range(0, len(texts), batch_size):
            rows = order[start:start + batch_size]
            pieces = self.tokenizer([texts[i] for i in rows], padding=True, truncation=True,
                                    max_length=self.max_length, return_tensors="np")
            hidden = self.session.run(None, {n: pieces[n].astype(np.int64) for n in self.names})[0]
            mask = pieces["attention_mask"][..., None].astype(np.float32)
            vectors = (hidden * mask).sum(1) / mask.sum(1)
            out[rows] = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
        return out


def _encode(model: Any, texts: list[str], batch_size: int) -> np.ndarray:
    return np.asarray(model.encode(texts, batch_size=batch_size, normalize_embeddings=True, show_progress_bar=False))



def _recall_at_5(vectors: np.ndarray, titles: list[str], questions: list[tuple[np.ndarray, set[str]]]) -> float:
    scores = []
    for query, gold in questions:
        top = np.argsort(-(vectors @ query))[:5]
        scores.append(len({titles[i] for i in top} & gold) / len(gold))
    return float(np.mean(scores))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", type=Path, default=DEFAULT_DATASET)
    parser.add_argument("--limit", type=int, default=None, help="embed only the first N pooled paragraphs")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--ways", default=None, help="comma-separated numbers of the ways to run (1 = baseline, always run)")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    args = parser.parse_args()

    examples = read_dataset(args.dataset).examples
    paragraphs: dict[str, str] = {}
    for example in examples:
        for paragraph in example.paragraphs:
            paragraphs.setdefault(paragraph.title, f"{paragraph.title}\n{paragraph.text}")
    titles = list(paragraphs)[: args.limit] if args.limit else list(paragraphs)
    texts = [paragraphs[t] for t in titles]
    kept = set(titles)
    asked = [(e.question, set(e.supporting_titles) & kept) for e in examples if set(e.supporting_titles) & kept]

    rows = []
    baseline_recall = None
    chosen = {1, *(int(n) for n in args.ways.split(","))} if args.ways else None
    for number, (name, way) in enumerate(_ways().items(), start=1):
        if chosen and number not in chosen:
            continue
        if way.get("onnx") and importlib.util.find_spec("onnx") is None:
            print(f"skipped {name}: pip install onnx", flush=True)
            continue
        model = _model(way)
        batch = way.get("batch_size", 32)
        _encode(model, texts[:64], batch)  # warm up
        seconds = []
        for _ in range(args.repeats):
            started = time.perf_counter()
            vectors = _encode(model, texts, batch)
            seconds.append(time.perf_counter() - started)
        queries = _encode(model, [q for q, _ in asked], batch)
        recall = _recall_at_5(vectors, titles, list(zip(queries, (g for _, g in asked))))
        baseline_recall = recall if baseline_recall is None else baseline_recall
        median = statistics.median(seconds)
        rows.append({"way": name, "passages_per_second": round(len(texts) / median, 1), "seconds": round(median, 2),
                     "recall_at_5": round(recall, 4), "recall_change_points": round(100 * (recall - baseline_recall), 2)})
        print(json.dumps(rows[-1]), flush=True)

    base = rows[0]["passages_per_second"]
    for row in rows:
        row["speed_up"] = round(row["passages_per_second"] / base, 2)
    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    record = {"command": " ".join(["python", "benchmarks/embeddings.py", *sys.argv[1:]]), "commit": commit,
              "machine": {"cpus": __import__("os").cpu_count(), "python": platform.python_version()},
              "dataset": args.dataset.name, "passages": len(texts), "questions": len(asked), "rows": rows}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "embeddings.json").write_text(json.dumps(record, indent=1) + "\n")
    lines = [
        "# Embedding throughput (all-MiniLM-L6-v2, CPU)", "",
        f"`{record['command']}` at {commit[:10]}; {len(texts)} pooled paragraphs of {args.dataset.name}, "
        f"{len(asked)} questions; {record['machine']['cpus']} cores. Recall@5: gold supporting paragraphs among the "
        "5 nearest (dense only, exact search).", "",
        "| way | passages/s | speed-up | recall@5 | change (points) |", "|---|---:|---:|---:|---:|",
    ]
    lines += [f"| {r['way']} | {r['passages_per_second']} | {r['speed_up']}x | {100 * r['recall_at_5']:.1f} "
              f"| {r['recall_change_points']:+.1f} |" for r in rows]
    (args.out / "embeddings.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
