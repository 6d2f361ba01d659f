"""The bench's results: one row per scenario (and per baseline), printed as one table and saved as JSON
under bench-output/ so that runs can be compared."""

from __future__ import annotations

import json
import platform
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path

OUTPUT_DIR = Path(__file__).resolve().parents[2] / "bench-output"


@dataclass
class Row:
    """One measured line. Latencies in ms; `throughput` in `unit` per second; `ratio` to its baseline."""

    key: str
    scenario: str
    median_ms: float | None = None
    p95_ms: float | None = None
    p99_ms: float | None = None
    throughput: float | None = None
    unit: str = "req"
    errors: int | None = None
    ratio: float | None = None
    ratio_of: str = ""
    target: str = ""
    met: bool | None = None
    note: str = ""
    details: dict = field(default_factory=dict)

    @property
    def is_baseline(self) -> bool:
        return self.key.endswith("-baseline")


def _ms(value: float | None) -> str:
    if value is None:
        return "—"
    if value >= 1000:
        return f"{value / 1000:.2f} s"
    return f"{value:.0f} ms" if value >= 100 else f"{value:.1f} ms"


def _rate(row: Row) -> str:
    if row.throughput is None:
        return "—"
    return f"{row.throughput:,.0f} {row.unit}/s" if row.throughput >= 10 else f"{row.throughput:.2f} {row.unit}/s"


def _verdict(row: Row) -> str:
    if row.met is None:
        return row.target or ""
    return f"{'met' if row.met else 'MISSED'}: {row.target}"


HEADERS = ("scenario", "median", "p95", "p99", "throughput", "errors", "ratio", "target")


def cells(row: Row) -> tuple[str, ...]:
    name = f"  ↳ {row.scenario}" if row.is_baseline else row.scenario
    ratio = f"{row.ratio:.2f}x {row.ratio_of}".strip() if row.ratio is not None else "—"
    errors = "—" if row.errors is None else str(row.errors)
    return (name, _ms(row.median_ms), _ms(row.p95_ms), _ms(row.p99_ms), _rate(row), errors, ratio, _verdict(row))


def table(rows: list[Row]) -> str:
    """A Markdown table (readable in a terminal, and pasted as is into the README)."""
    lines = [cells(row) for row in rows]
    widths = [max(len(h), *(len(line[i]) for line in lines)) for i, h in enumerate(HEADERS)] if lines else []

    def fmt(values) -> str:
        return "| " + " | ".join(str(v).ljust(widths[i]) for i, v in enumerate(values)) + " |"

    out = [fmt(HEADERS), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    out += [fmt(line) for line in lines]
    notes = [f"- {row.scenario}: {row.note}" for row in rows if row.note]
    return "\n".join([*out, "", *notes] if notes else out)


def machine() -> dict:
    import os

    import psutil

    return {
        "cpus": os.cpu_count(),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def write_json(rows: list[Row], *, extra: dict, directory: Path = OUTPUT_DIR, now: datetime | None = None) -> Path:
    """Save the run as bench-output/bench-<time>.json and bench-output/latest.json; returns the first."""
    now = now or datetime.now().astimezone()
    directory.mkdir(parents=True, exist_ok=True)
    body = {"measured_at": now.isoformat(timespec="seconds"), **extra, "rows": [asdict(row) for row in rows]}
    path = directory / f"bench-{now:%Y%m%dT%H%M%S}.json"
    text = json.dumps(body, indent=2, default=str)
    path.write_text(text)
    (directory / "latest.json").write_text(text)
    return path
