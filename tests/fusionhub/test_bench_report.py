"""The bench's own pieces that need no server: the table, the JSON, the wrk script and its output."""

import json
from datetime import UTC, datetime

import pytest
from django.urls import Resolver404, resolve

from scripts.bench import load, report


def rows():
    return [
        report.Row(key="1-incident-feed", scenario="1. Incident feed page", median_ms=12.34, p95_ms=20.0,
                   p99_ms=31.5, throughput=250.4, errors=0, ratio=1.8, ratio_of="p95",
                   target="p95 < 50 ms and < 3x baseline", met=True),
        report.Row(key="1-incident-feed-baseline", scenario="baseline: minimal view", median_ms=5.0, p95_ms=11.1,
                   p99_ms=15.0, throughput=900.0, errors=0),
        report.Row(key="3-fan-out", scenario="3. Fan-out", median_ms=4200.0, throughput=4761.9, unit="rows",
                   errors=0, ratio=5.2, ratio_of="time", target="< 5 s", met=False, note="worker peak memory 95 MB"),
        report.Row(key="5-relay", scenario="5. Relay", note="not available"),
    ]  # fmt: skip


def test_table_has_one_line_per_row_with_units_verdicts_and_notes():
    text = report.table(rows())
    lines = text.splitlines()
    assert lines[0].startswith("| scenario")
    assert set(lines[1]) <= {"|", "-"}
    assert "| 12.3 ms" in lines[2]
    assert "250 req/s" in lines[2]
    assert "1.80x p95" in lines[2]
    assert "met: p95 < 50 ms" in lines[2]
    assert "↳ baseline: minimal view" in lines[3]
    assert "4.20 s" in lines[4]
    assert "4,762 rows/s" in lines[4]
    assert "MISSED: < 5 s" in lines[4]
    assert "- 3. Fan-out: worker peak memory 95 MB" in text
    assert "- 5. Relay: not available" in text


def test_json_is_written_with_time_machine_and_rows(tmp_path):
    now = datetime(2026, 5, 1, 12, 30, tzinfo=UTC)
    path = report.write_json(rows(), extra={"machine": {"cpus": 2}}, directory=tmp_path, now=now)
    assert path.name == "bench-20260501T123000.json"
    body = json.loads(path.read_text())
    assert body["machine"] == {"cpus": 2}
    assert body["rows"][0]["p95_ms"] == 20.0
    assert json.loads((tmp_path / "latest.json").read_text()) == body


def test_wrk_script_rotates_paths_and_sends_headers():
    script = load.lua_script(["/a/", "/b/?q=x y"], {"Authorization": "Token abc"})
    assert 'local paths = {"/a/", "/b/?q=x y"}' in script
    assert 'wrk.headers["Authorization"] = "Token abc"' in script
    assert "latency:percentile(95)" in script


def test_wrk_result_line_becomes_a_measurement():
    output = (
        "Running 10s test @ http://127.0.0.1:8000\n"
        'BENCHJSON {"requests":1000,"duration_us":10000000,"p50":12000,"p95":30000,"p99":45000,"max":60000,'
        '"connect":0,"read":0,"write":0,"status":3,"timeout":1}\n'
    )
    measured = load.parse_wrk(output)
    assert measured.throughput == pytest.approx(100.0)
    assert (measured.median, measured.p95, measured.p99) == (12.0, 30.0, 45.0)
    assert measured.errors == 4
    assert measured.error_kinds == {"status": 3, "timeout": 1}


def test_wrk_without_a_result_line_is_an_error():
    with pytest.raises(RuntimeError, match="no result"):
        load.parse_wrk("unable to connect to 127.0.0.1:1 Connection refused")


def test_percentiles_of_samples():
    measured = load.from_samples([float(n) for n in range(1, 101)], seconds=2.0)
    assert measured.median == 50.5
    assert measured.p95 == 95.0
    assert measured.p99 == 99.0
    assert measured.throughput == 50.0


def test_the_baseline_view_exists_only_in_the_bench_urls():
    with pytest.raises(Resolver404):
        resolve("/bench/baseline/feed/1/")
    assert resolve("/bench/baseline/feed/1/", urlconf="scripts.bench.urls").url_name == "bench-baseline-feed"
