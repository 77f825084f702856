"""Two `agentic-rag index` processes on one directory: exclusive writers, nothing lost, always loadable."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from agentic_rag.errors import KnowledgeBaseError
from agentic_rag.tools.knowledge_base import KnowledgeBase
from agentic_rag.tools.store import index_lock
from tests.fakes import HashingEmbeddings

ROOT = Path(__file__).resolve().parents[2]


def folder(tmp_path: Path, name: str, files: int = 25) -> Path:
    docs = tmp_path / name
    docs.mkdir()
    for i in range(files):
        (docs / f"{name}-{i:02d}.md").write_text(f"# {name} {i}\n\nThe {name} note number {i} says {name}{i} matters.\n")
    return docs


def indexer(docs: Path, index: Path, *flags: str) -> subprocess.Popen:
    env = {**os.environ, "FAKE_CLI_SCRIPT": "[]", "FAKE_CLI_CALLS": os.devnull, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, str(ROOT / "tests" / "fake_cli.py"), "index", str(docs), "--index", str(index), *flags],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def sources(index: Path) -> set[str]:
    return {Path(s).name for s in KnowledgeBase.load(index, HashingEmbeddings()).sources}


def test_concurrent_indexers_with_wait_both_land_in_every_trial(tmp_path):
    a, b = folder(tmp_path, "alpha"), folder(tmp_path, "beta")
    expected = {p.name for p in [*a.iterdir(), *b.iterdir()]}
    for trial in range(3):
        index = tmp_path / f"index-{trial}"
        runs = [indexer(a, index, "--wait"), indexer(b, index, "--wait")]
        outputs = [run.communicate(timeout=120) for run in runs]
        assert [run.returncode for run in runs] == [0, 0], outputs
        assert sources(index) == expected  # neither writer's update was lost
        assert sorted(p.name for p in index.glob("index-*.faiss")) == [f"index-{2:06d}.faiss"]


def test_an_indexer_finding_the_directory_locked_stops_with_a_clear_error_and_changes_nothing(tmp_path):
    index = tmp_path / "index"
    run = indexer(folder(tmp_path, "alpha"), index)
    assert run.communicate(timeout=120) and run.returncode == 0
    before = sources(index)
    with index_lock(index):
        blocked = indexer(folder(tmp_path, "beta"), index)
        _, stderr = blocked.communicate(timeout=120)
    assert blocked.returncode == 1
    assert "another indexer is running on" in stderr and "--wait" in stderr and "Traceback" not in stderr
    assert sources(index) == before


def test_with_wait_an_indexer_goes_on_once_the_lock_is_released(tmp_path):
    index = tmp_path / "index"
    beta = folder(tmp_path, "beta")
    with index_lock(index):
        waiting = indexer(beta, index, "--wait")
        time.sleep(1.0)
        assert waiting.poll() is None  # still waiting for the lock
    waiting.communicate(timeout=120)
    assert waiting.returncode == 0 and sources(index) == {p.name for p in beta.iterdir()}


def test_the_lock_is_reentrant_in_its_thread_and_exclusive_between_threads(tmp_path):
    with index_lock(tmp_path / "i"):
        with index_lock(tmp_path / "i"):  # a save inside an update
            pass
    inside, most = [0], [0]

    def hold():
        with index_lock(tmp_path / "j", wait=True, timeout=10):
            inside[0] += 1
            most[0] = max(most[0], inside[0])
            time.sleep(0.05)
            inside[0] -= 1

    threads = [threading.Thread(target=hold) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert most[0] == 1
    with index_lock(tmp_path / "j"):
        other = threading.Thread(target=lambda: errors.append(_try_lock(tmp_path / "j")))
        errors: list = []
        other.start()
        other.join()
    assert "another indexer is running" in str(errors[0])


def _try_lock(directory):
    try:
        with index_lock(directory):
            return None
    except KnowledgeBaseError as exc:
        return exc


def test_a_reader_retries_once_when_the_generation_it_read_about_was_replaced(tmp_path, monkeypatch):
    from agentic_rag.tools import store

    kb = KnowledgeBase(HashingEmbeddings())
    kb.add_texts([("a.md", "Alpha text.")])
    kb.save(tmp_path / "idx")
    stale = store.read_manifest(tmp_path / "idx")
    kb.add_texts([("b.md", "Beta text.")])
    kb.save(tmp_path / "idx")  # deletes the generation `stale` names
    snapshot = store.load_snapshot(tmp_path / "idx", stale)
    assert len(snapshot.chunks) == 2
    with pytest.raises(KnowledgeBaseError):
        store.load_snapshot(tmp_path / "nowhere")
