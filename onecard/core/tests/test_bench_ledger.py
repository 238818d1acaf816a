"""`onecard bench ledger` on the SQLite test database: only its SQLite part runs; a table, then one JSON line."""

import io
import json

import pytest
from django.core.management import call_command
from django.db import connection

pytestmark = pytest.mark.django_db


def test_bench_ledger_on_sqlite_runs_the_sqlite_part_and_ends_with_json():
    if connection.vendor != "sqlite":
        pytest.skip(
            "on PostgreSQL the bench starts worker processes against the configured database, not the test one"
        )
    out = io.StringIO()
    call_command("bench", "ledger", "--seconds", "1", "--cards", "5", "--clients", "1", stdout=out)
    lines = out.getvalue().strip().splitlines()
    assert any(line.startswith("mode") and "pgbench TPS" in line for line in lines)
    result = json.loads(lines[-1])
    expected = {"benchmark", "database", "seconds", "cards", "clients", "service", "http", "pgbench", "sqlite",
                "http_skipped", "pgbench_skipped", "queries_per_charge", "targets", "cases"}  # fmt: skip
    assert expected <= set(result)
    assert result["benchmark"] == "ledger" and result["database"] == "sqlite"
    assert result["service"] == result["http"] == result["pgbench"] == []
    assert "sqlite" in result["http_skipped"] and "sqlite" in result["pgbench_skipped"]
    sqlite = result["sqlite"]
    assert sqlite["charges"] > 0 and sqlite["errors"] == {}
    assert {"tps", "p50_ms", "p99_ms", "clients"} <= set(sqlite)
    assert [t["name"] for t in result["targets"]] == ["SQLite, one process (charges/s)"]
    assert result["cases"][0]["samples"] == sqlite["charges"]
