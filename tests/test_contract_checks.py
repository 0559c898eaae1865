"""The framework labs' shared check helpers: a check's database belongs to that check alone."""
import os
import time
from pathlib import Path

from coursekit.checks import Checks
from coursekit.contract import ENV_DB
from coursekit.labs.contract_checks import STALE_SECONDS, data_folder, fresh_env


def test_a_starting_check_leaves_a_running_checks_database_alone(tmp_path, monkeypatch):
    """Two kernels can check the same notebook's folder at once (or a test run and nbval)."""
    monkeypatch.chdir(tmp_path)
    running = Path(fresh_env()[ENV_DB])
    running.write_bytes(b"the other check's data")
    data_folder()  # what the next check does first
    assert running.exists(), "a new check deleted the database of a check still running"


def test_stale_databases_are_cleared(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    stale = Path(fresh_env()[ENV_DB])
    stale.write_bytes(b"left by a killed kernel")
    long_ago = time.time() - STALE_SECONDS - 60
    os.utime(stale, (long_ago, long_ago))
    data_folder()
    assert not stale.exists()


def test_a_check_removes_its_own_database_when_it_is_over(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    t = Checks("5.1")
    db = Path(fresh_env(t)[ENV_DB])
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").write_bytes(b"x")
    t.finish()
    assert not any(Path(f"{db}{suffix}").exists() for suffix in ("", "-wal", "-shm"))
