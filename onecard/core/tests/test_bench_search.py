"""`onecard bench search` on a small seeded database: a table, then one JSON line with every figure."""

import io
import json

import pytest
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def test_bench_search_prints_a_table_and_a_json_line():
    out = io.StringIO()
    call_command("bench", "search", "--members", "300", "--samples", "5", stdout=out)
    lines = out.getvalue().strip().splitlines()
    assert any(line.startswith("case") and "median ms" in line for line in lines)
    result = json.loads(lines[-1])
    assert {"benchmark", "database", "members", "samples", "cases"} <= set(result)
    assert result["benchmark"] == "search" and result["members"] == 300
    names = [c["case"] for c in result["cases"]]
    assert "phone (11 digits)" in names and "list: store+tag+consent, page 1" in names
    for case in result["cases"]:
        assert {"case", "samples", "median_ms", "p95_ms", "p99_ms", "target_ms", "pass"} <= set(case)
        if not case.get("note", "").startswith("skipped"):
            assert case["samples"] == 5
