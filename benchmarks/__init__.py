"""The measured workloads behind `onecard bench NAME`.

Each workload is a module here with `run(options) -> dict`; the dict has a list of `cases`, each with
`case`, `samples`, `median_ms`, `p95_ms`, `p99_ms`, `target_ms` and `pass`, plus whatever else the
workload wants to report. `onecard bench` prints the cases as a table and the whole dict as the last
line of its output, one JSON object, for machines.
"""

import importlib
import statistics
import time

# name → module (imported when that workload runs)
REGISTRY = {
    "search": "benchmarks.search",
    "ledger": "benchmarks.ledger",
    "checkout": "benchmarks.checkout",
    "analytics": "benchmarks.analytics",
}


def load(name):
    return importlib.import_module(REGISTRY[name])


def percentile(sorted_values, fraction):
    """The nearest-rank percentile of an already sorted list."""
    if not sorted_values:
        return 0.0
    rank = max(0, min(len(sorted_values) - 1, round(fraction * len(sorted_values) + 0.5) - 1))
    return sorted_values[rank]


def timed_case(name, target_ms, samples, call, *, warmup=10, note=""):
    """Run `call(i)` warmup times unmeasured, then `samples` times under time.perf_counter; a case dict."""
    for i in range(warmup):
        call(i)
    times = []
    for i in range(samples):
        started = time.perf_counter()
        call(warmup + i)
        times.append((time.perf_counter() - started) * 1000)
    return summarize(name, target_ms, times, note=note)


def summarize(name, target_ms, times, *, note=""):
    times = sorted(times)
    median = statistics.median(times) if times else 0.0
    return {
        "case": name,
        "samples": len(times),
        "median_ms": round(median, 3),
        "p95_ms": round(percentile(times, 0.95), 3),
        "p99_ms": round(percentile(times, 0.99), 3),
        "max_ms": round(times[-1], 3) if times else 0.0,
        "target_ms": target_ms,
        "pass": bool(times) and median < target_ms,
        "note": note,
    }


def format_table(cases):
    """The cases as a plain-text table."""
    headers = ("case", "samples", "median ms", "p95 ms", "p99 ms", "target", "result")
    rows = [
        (
            c["case"],
            str(c["samples"]),
            f"{c['median_ms']:.2f}",
            f"{c['p95_ms']:.2f}",
            f"{c['p99_ms']:.2f}",
            f"< {c['target_ms']} ms" if c.get("target_ms") is not None else "-",
            "pass" if c["pass"] else "FAIL",
        )
        for c in cases
    ]
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    lines = [
        "  ".join(
            h.ljust(w) if i == 0 else h.rjust(w) for i, (h, w) in enumerate(zip(headers, widths, strict=True))
        )
    ]
    lines.append("  ".join("-" * w for w in widths))
    for r in rows:
        lines.append(
            "  ".join(
                v.ljust(w) if i == 0 else v.rjust(w) for i, (v, w) in enumerate(zip(r, widths, strict=True))
            )
        )
    return "\n".join(lines)
