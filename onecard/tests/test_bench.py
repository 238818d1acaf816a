"""`onecard bench` on a database that was never migrated: it migrates first, or says what to run."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _bench(tmp_path, *args):
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "ONECARD_VAR_DIR": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{tmp_path}/empty.sqlite3",
        "DJANGO_SETTINGS_MODULE": "onecard.settings",
    }
    return subprocess.run(
        [sys.executable, "-m", "onecard.cli", "bench", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_bench_with_no_seed_on_an_empty_database_says_to_migrate(tmp_path):
    # given a database file with no tables, when the ledger bench is asked to measure what is there
    done = _bench(tmp_path, "ledger", "--no-seed", "--skip-sqlite")
    # then it stops with a sentence naming the command to run, not a traceback
    assert done.returncode == 1
    assert "Run `onecard migrate`" in done.stderr
    assert "Traceback" not in done.stderr
    assert "org_merchant" not in done.stderr


def test_bench_on_an_empty_database_migrates_first(tmp_path):
    # given a database file with no tables, when the ledger bench runs (its SQLite part left out)
    done = _bench(tmp_path, "ledger", "--skip-sqlite", "--seconds", "0.1")
    # then it applies the migrations first and finishes without a traceback
    assert "not migrated: applying" in done.stdout
    assert "Traceback" not in done.stderr, done.stderr[-2000:]
    assert done.returncode == 0
