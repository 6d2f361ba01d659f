"""Load on loopback: wrk (C, one thread is plenty on 2 cores) with a Lua script that rotates through a
list of paths and reports percentiles as JSON; and timed loops for the baselines run in-process."""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

MARK = "BENCHJSON "

LUA_TEMPLATE = """
local paths = {%(paths)s}
local counter = 0
%(headers)s
request = function()
  counter = counter + 1
  return wrk.format("%(method)s", paths[(counter %% #paths) + 1])
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "%(mark)s{\\"requests\\":%%d,\\"duration_us\\":%%d,\\"p50\\":%%d,\\"p95\\":%%d,\\"p99\\":%%d,\\"max\\":%%d," ..
    "\\"connect\\":%%d,\\"read\\":%%d,\\"write\\":%%d,\\"status\\":%%d,\\"timeout\\":%%d}\\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(95), latency:percentile(99),
    latency.max, e.connect, e.read, e.write, e.status, e.timeout))
end
"""


@dataclass
class Measurement:
    """Latencies in milliseconds, throughput per second, errors counted."""

    count: int
    seconds: float
    median: float
    p95: float
    p99: float
    errors: int = 0
    error_kinds: dict[str, int] = field(default_factory=dict)

    @property
    def throughput(self) -> float:
        return self.count / self.seconds if self.seconds else 0.0

    def as_dict(self) -> dict:
        return {
            "count": self.count,
            "seconds": round(self.seconds, 3),
            "median_ms": round(self.median, 2),
            "p95_ms": round(self.p95, 2),
            "p99_ms": round(self.p99, 2),
            "throughput_per_s": round(self.throughput, 1),
            "errors": self.errors,
            "error_kinds": self.error_kinds,
        }


def percentile(values: list[float], share: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))
    return ordered[index]


def from_samples(latencies_ms: list[float], seconds: float, errors: int = 0) -> Measurement:
    return Measurement(
        count=len(latencies_ms),
        seconds=seconds,
        median=statistics.median(latencies_ms) if latencies_ms else 0.0,
        p95=percentile(latencies_ms, 0.95),
        p99=percentile(latencies_ms, 0.99),
        errors=errors,
    )


def lua_script(paths: list[str], headers: dict[str, str], method: str = "GET") -> str:
    quoted = ", ".join(json.dumps(p) for p in paths)
    header_lines = "\n".join(f"wrk.headers[{json.dumps(k)}] = {json.dumps(v)}" for k, v in headers.items())
    return LUA_TEMPLATE % {"paths": quoted, "headers": header_lines, "method": method, "mark": MARK}


def parse_wrk(output: str) -> Measurement:
    line = next((line for line in output.splitlines() if line.startswith(MARK)), None)
    if line is None:
        raise RuntimeError(f"wrk printed no result:\n{output[-2000:]}")
    data = json.loads(line[len(MARK) :])
    kinds = {k: data[k] for k in ("connect", "read", "write", "status", "timeout") if data[k]}
    return Measurement(
        count=data["requests"],
        seconds=data["duration_us"] / 1e6,
        median=data["p50"] / 1000,
        p95=data["p95"] / 1000,
        p99=data["p99"] / 1000,
        errors=sum(kinds.values()),
        error_kinds=kinds,
    )


def wrk_available() -> bool:
    return shutil.which("wrk") is not None


def run_wrk(base_url: str, paths: list[str], headers: dict[str, str], *, connections: int, seconds: int) -> Measurement:
    """Closed-loop load: `connections` clients each sending the next request as soon as one is answered."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(lua_script(paths, headers))
    try:
        command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s", "-s", script.name, base_url]
        done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=seconds + 60)  # noqa: S603
        return parse_wrk(done.stdout + done.stderr)
    finally:
        Path(script.name).unlink(missing_ok=True)


def run_loop(call: Callable[[int], None], *, threads: int, seconds: float) -> Measurement:
    """Call `call(n)` from `threads` threads for `seconds`, timing each call (for in-process baselines)."""
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def work(thread: int) -> None:
        mine, n = [], thread
        while time.monotonic() < stop_at:
            started = time.perf_counter()
            try:
                call(n)
            except Exception:
                with lock:
                    errors[0] += 1
            mine.append((time.perf_counter() - started) * 1000)
            n += threads
        with lock:
            latencies.extend(mine)

    started = time.monotonic()
    pool = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return from_samples(latencies, time.monotonic() - started, errors[0])
