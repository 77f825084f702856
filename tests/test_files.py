import json
import os
import stat

import pytest

from agentic_rag._files import write_json_atomic


def test_write_json_atomic_replaces_the_file_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "run.json"
    path.write_text("old")
    write_json_atomic(path, {"name": "Ines Okafor", "n": 1})
    assert json.loads(path.read_text("utf-8")) == {"name": "Ines Okafor", "n": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["run.json"]


def test_a_failed_write_keeps_the_old_file(tmp_path):
    path = tmp_path / "run.json"
    path.write_text('{"kept": true}')
    with pytest.raises(TypeError):
        write_json_atomic(path, {"bad": object()})
    with pytest.raises(OSError):
        write_json_atomic(tmp_path / "no-such-dir" / "run.json", {})
    assert json.loads(path.read_text("utf-8")) == {"kept": True}
    assert [p.name for p in tmp_path.iterdir()] == ["run.json"]


@pytest.mark.skipif(os.name != "posix", reason="file modes")
def test_the_file_gets_the_mode_a_plain_write_would(tmp_path):
    plain, atomic = tmp_path / "plain.json", tmp_path / "atomic.json"
    plain.write_text("{}")
    write_json_atomic(atomic, {})
    assert stat.S_IMODE(atomic.stat().st_mode) == stat.S_IMODE(plain.stat().st_mode)
