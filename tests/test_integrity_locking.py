"""integrity (recorded output hashes) and locking (one run per output folder)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from packshot.errors import InputError
from packshot.imaging import atomic_write_bytes, check_output_name, clean_temp_files, is_temp_file
from packshot.integrity import (InputGuard, file_digest, input_key, is_up_to_date, make_record, verify_outputs,
                                verify_record)
from packshot.locking import LOCK_NAME, FolderLockedError, OutputLock, is_stale, read_holder


def _outputs(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "v0.png").write_bytes(b"x" * 100)
    (tmp_path / "b.json").write_text("{}")
    return [tmp_path / "a" / "v0.png", tmp_path / "b.json"]


def test_record_round_trip_is_up_to_date(tmp_path):
    paths = _outputs(tmp_path)
    rec = make_record("k1", paths, tmp_path, photo="p.jpg")
    assert set(rec["outputs"]) == {"a/v0.png", "b.json"}
    assert rec["outputs"]["a/v0.png"]["size"] == 100
    json.loads(json.dumps(rec))  # a plain JSON-able dict
    assert is_up_to_date(rec, "k1", tmp_path)
    assert not is_up_to_date(rec, "k2", tmp_path)  # inputs changed
    assert verify_record(None, tmp_path) == ["no valid record"]


@pytest.mark.parametrize("damage", ["truncate", "empty", "delete", "same_size_edit"])
def test_damaged_output_is_not_up_to_date(tmp_path, damage):
    paths = _outputs(tmp_path)
    rec = make_record("k", paths, tmp_path)
    p = paths[0]
    if damage == "truncate":
        p.write_bytes(p.read_bytes()[:50])
    elif damage == "empty":
        p.write_bytes(b"")
    elif damage == "delete":
        p.unlink()
    else:
        p.write_bytes(b"y" * 100)
    problems = verify_outputs(rec["outputs"], tmp_path)
    assert len(problems) == 1 and str(p) in problems[0]
    assert not is_up_to_date(rec, "k", tmp_path)


def test_input_key_is_order_independent():
    assert input_key({"a": 1, "b": [1, 2]}) == input_key({"b": [1, 2], "a": 1})
    assert input_key({"a": 1}) != input_key({"a": 2})


def test_file_digest_matches_hashlib(tmp_path):
    import hashlib

    p = tmp_path / "f"
    p.write_bytes(os.urandom(3 << 20))
    assert file_digest(p) == {"sha256": hashlib.sha256(p.read_bytes()).hexdigest(), "size": 3 << 20}


def test_input_guard_catches_same_path_and_hard_link(tmp_path):
    src = tmp_path / "in" / "prod.png"
    src.parent.mkdir()
    src.write_bytes(b"photo")
    link = tmp_path / "link.png"
    os.link(src, link)
    guard = InputGuard([src])
    with pytest.raises(InputError, match="would overwrite the input"):
        guard.check(tmp_path / "in" / ".." / "in" / "prod.png")
    with pytest.raises(InputError, match="would overwrite the input"):
        guard.check(link)
    guard.check(tmp_path / "other.png")


def test_lock_refuses_second_holder_and_names_it(tmp_path):
    with OutputLock(tmp_path, command="packshot run --seed 7"):
        holder = read_holder(tmp_path)
        assert holder["pid"] == os.getpid()
        with pytest.raises(FolderLockedError) as exc:
            OutputLock(tmp_path).acquire()
        assert f"pid {os.getpid()}" in str(exc.value) and "--seed 7" in str(exc.value)
        with pytest.raises(FolderLockedError):
            OutputLock(tmp_path, wait=True, timeout=0.3, poll=0.05).acquire()
    assert not (tmp_path / LOCK_NAME).exists()  # released on exit
    with OutputLock(tmp_path):
        pass


def test_lock_waits_for_holder_to_finish(tmp_path):
    code = ("import sys, time; sys.path.insert(0, sys.argv[2]); from packshot.locking import OutputLock\n"
            "with OutputLock(sys.argv[1]):\n    print('held', flush=True); time.sleep(1.0)\n")
    src = os.path.join(os.path.dirname(__file__), "..", "src")
    proc = subprocess.Popen([sys.executable, "-c", code, str(tmp_path), src], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    with pytest.raises(FolderLockedError):
        OutputLock(tmp_path).acquire()
    t0 = time.monotonic()
    with OutputLock(tmp_path, wait=True, timeout=30, poll=0.05):
        assert time.monotonic() - t0 > 0.3
    proc.wait(10)


def test_stale_lock_of_killed_run_is_taken_over(tmp_path):
    code = ("import sys, time; sys.path.insert(0, sys.argv[2]); from packshot.locking import OutputLock\n"
            "l = OutputLock(sys.argv[1]).acquire(); print('held', flush=True); time.sleep(60)\n")
    src = os.path.join(os.path.dirname(__file__), "..", "src")
    proc = subprocess.Popen([sys.executable, "-c", code, str(tmp_path), src], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    holder = read_holder(tmp_path)
    assert holder["pid"] == proc.pid and is_stale(holder)
    with OutputLock(tmp_path) as lock:
        assert read_holder(tmp_path)["pid"] == os.getpid() and lock.held
        assert lock.took_over["pid"] == proc.pid
    assert not (tmp_path / LOCK_NAME).exists()


def test_without_flock_the_pid_check_guards_and_takes_over(tmp_path, monkeypatch):
    monkeypatch.setattr(OutputLock, "_try_flock", lambda self: None)
    with OutputLock(tmp_path):
        with pytest.raises(FolderLockedError, match=f"pid {os.getpid()}"):
            OutputLock(tmp_path).acquire()
    (tmp_path / LOCK_NAME).write_text(json.dumps({"pid": 999999999, "host": socket.gethostname()}))
    with OutputLock(tmp_path) as lock:
        assert lock.took_over["pid"] == 999999999 and read_holder(tmp_path)["pid"] == os.getpid()
    assert not (tmp_path / LOCK_NAME).exists()


def test_lock_file_left_empty_by_a_kill_does_not_block(tmp_path):
    (tmp_path / LOCK_NAME).write_text("")  # killed between creating and describing the lock
    with OutputLock(tmp_path) as lock:
        assert lock.held


def test_holder_on_another_host_is_never_stale():
    assert not is_stale({"pid": 999999999, "host": socket.gethostname() + "-elsewhere"})
    assert is_stale({"pid": 999999999, "host": socket.gethostname()})
    assert not is_stale({"pid": os.getpid(), "host": socket.gethostname()})


def test_sigterm_becomes_exit_and_atomic_write_cleans_up(tmp_path):
    code = ("import sys, os, signal; sys.path.insert(0, sys.argv[2])\n"
            "from packshot.imaging import atomic_writer\nfrom packshot.locking import terminate_as_exit, OutputLock\n"
            "with terminate_as_exit(), OutputLock(sys.argv[1]):\n"
            "    with atomic_writer(os.path.join(sys.argv[1], 'x.png')) as f:\n"
            "        f.write(b'partial'); os.kill(os.getpid(), signal.SIGTERM)\n")
    src = os.path.join(os.path.dirname(__file__), "..", "src")
    proc = subprocess.run([sys.executable, "-c", code, str(tmp_path), src], timeout=60)
    assert proc.returncode == 143
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # no temp file, no lock, no half file


def test_clean_temp_files_removes_only_old_atomic_temps(tmp_path):
    (tmp_path / "maps").mkdir()
    old = tmp_path / "maps" / ".normals.png.ab_cd123.tmp"
    old.write_bytes(b"x")
    os.utime(old, (time.time() - 100, time.time() - 100))
    fresh = tmp_path / ".v0.png.zz9yy8xx.tmp"
    fresh.write_bytes(b"x")
    keep = tmp_path / "notes.tmp"
    keep.write_bytes(b"x")
    assert is_temp_file(old) and not is_temp_file(keep)
    removed = clean_temp_files(tmp_path, older_than=time.time() - 10)
    assert removed == [old] and fresh.exists() and keep.exists()
    atomic_write_bytes(tmp_path / "ok.bin", b"1")
    assert sorted(p.name for p in tmp_path.iterdir()) == [".v0.png.zz9yy8xx.tmp", "maps", "notes.tmp", "ok.bin"]


def test_check_output_name_refuses_too_long_names(tmp_path):
    check_output_name(tmp_path / ("a" * 200 + ".png"))
    with pytest.raises(InputError, match="output file name is 255 bytes"):
        check_output_name(tmp_path / ("a" * 251 + ".png"))
