"""The measurements of a benchmark run, one function each. Every one of them talks to real
servers over loopback and returns plain numbers; run.py orders them and report.py prints."""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from benchmarks.loadgen import LoadResult, Target, WrkRun, run_wrk
from benchmarks.memory import InstanceTree, instance_processes, instance_trees, process_memory
from tests.harness import ADMIN_KEY, Api, Server, make_zip

HANDLERS = Path(__file__).resolve().parent / "handlers"
RUNTIMES = {"python": "python3.12", "node": "nodejs20.x"}
HANDLER_NAMES = {"python": "handler.handler", "node": "index.handler"}


def handler_zip(kind: str) -> bytes:
    folder = HANDLERS / kind
    return make_zip({p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()})


def deploy(api: Api, name: str, kind: str, **fields: object) -> dict[str, object]:
    return api.deploy(name, RUNTIMES[kind], HANDLER_NAMES[kind], handler_zip(kind), **fields)


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile; `fraction` is 0.5 for the median, 0.99 for p99."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(0, min(len(ordered) - 1, round(fraction * len(ordered) + 0.5) - 1))
    return ordered[rank]


# Throughput and latency under load.


@dataclass
class LoadSeries:
    """The three connection levels of one target, one entry per repetition."""

    one: list[LoadResult] = field(default_factory=list)
    many: list[LoadResult] = field(default_factory=list)


def measure_load(
    targets: list[Target], repetitions: int, seconds: float, connections: int,
    progress: Callable[[str], None],
) -> dict[str, LoadSeries]:
    """Run every target at 1 and at `connections` connections, `repetitions` times, in
    interleaved order (all targets once, then all again), so a slow phase of the shared
    machine hits every target alike."""
    series = {target.name: LoadSeries() for target in targets}
    for target in targets:
        run_wrk(target, connections, 1)  # warm instances, connections and JIT first
    for repetition in range(1, repetitions + 1):
        for target in targets:
            one = run_wrk(target, 1, seconds)
            many = run_wrk(target, connections, seconds)
            series[target.name].one.append(one)
            series[target.name].many.append(many)
            progress(
                f"rep {repetition} {target.name}: c1 p50 {one.p50_ms:.3f} ms, "
                f"c{connections} {many.requests_per_second:.0f} req/s p99 {many.p99_ms:.2f} ms, "
                f"errors {one.errors + many.errors}"
            )
    return series


# Idle instance memory.


@dataclass
class InstanceMemory:
    count: int
    median_uss_mb: float
    max_uss_mb: float
    median_rss_mb: float


def idle_instance_memory(server_pid: int) -> dict[str, InstanceMemory]:
    """USS and RSS of the idle instances below the server, per runtime, each instance's
    processes summed (its init and its runtime). Pre-started instances waiting for a
    function are among them."""
    found: dict[str, list[InstanceTree]] = {"python": [], "node": []}
    for instance in instance_trees(server_pid):
        found[instance.runtime].append(instance)
    summary = {}
    for kind, instances in found.items():
        if not instances:
            continue
        summary[kind] = InstanceMemory(
            count=len(instances),
            median_uss_mb=statistics.median(i.uss_mb for i in instances),
            max_uss_mb=max(i.uss_mb for i in instances),
            median_rss_mb=statistics.median(i.rss_mb for i in instances),
        )
    return summary


# Cold starts.


@dataclass
class ColdStarts:
    """Client-side latency of invocations that had to start an instance, and the init
    duration the platform reported for them."""

    latency_ms: list[float] = field(default_factory=list)
    init_ms: list[float] = field(default_factory=list)
    warm_hits: int = 0


def cold_starts(
    server: Server, kind: str, samples: int, distinct: int, pause_seconds: float = 0.0, prefix: str = "cold"
) -> ColdStarts:
    """Invoke `distinct` functions round robin on a server whose instance cap is below
    `distinct`, so each call finds its function's instance stopped (least recently used
    first) and starts a new one: the flood-of-functions case of a cold start. With a
    pause between calls, the pre-started processes the calls take are replaced between
    them."""
    result = ColdStarts()
    with server.client() as api:
        functions = [
            str(deploy(api, f"{prefix}-{kind}-{index}", kind)["id"]) for index in range(distinct)
        ]
        # One pass so that every function's prepared instance is gone before sampling.
        for function_id in functions:
            api.invoke(function_id, {})
        request_ids: list[tuple[str, str]] = []
        for sample in range(samples):
            function_id = functions[sample % distinct]
            time.sleep(pause_seconds)
            started = time.perf_counter()
            response = api.invoke(function_id, {})
            elapsed = (time.perf_counter() - started) * 1000
            if response.status_code != 200:
                raise RuntimeError(f"cold invoke failed: {response.status_code} {response.text}")
            result.latency_ms.append(elapsed)
            request_ids.append((function_id, response.headers["x-rocketstack-request-id"]))
        for function_id, request_id in request_ids:
            reports = api.logs(function_id, requestId=request_id)["reports"]
            init = reports[0].get("initDurationMs") if reports else None
            if init is None:
                result.warm_hits += 1
            else:
                result.init_ms.append(float(init))
    return result


def burst_cold_starts(server: Server, kind: str, width: int, rounds: int) -> ColdStarts:
    """Send `width` parallel invocations to a function with one warm instance, `rounds`
    times on fresh functions: all but one of each burst start an instance."""
    result = ColdStarts()
    with server.client() as api:
        for round_number in range(rounds):
            function_id = str(deploy(api, f"burst-{kind}-{round_number}", kind)["id"])
            barrier = threading.Barrier(width)

            def call(_: int, function_id: str = function_id) -> tuple[float, str]:
                with server.client() as own:
                    barrier.wait(10)
                    started = time.perf_counter()
                    response = own.invoke(function_id, {})
                    elapsed = (time.perf_counter() - started) * 1000
                    if response.status_code != 200:
                        raise RuntimeError(f"burst invoke failed: {response.status_code}")
                    return elapsed, response.headers["x-rocketstack-request-id"]

            with ThreadPoolExecutor(width) as pool:
                outcomes = list(pool.map(call, range(width)))
            for elapsed, request_id in outcomes:
                reports = api.logs(function_id, requestId=request_id)["reports"]
                init = reports[0].get("initDurationMs") if reports else None
                if init is None:
                    result.warm_hits += 1
                else:
                    result.latency_ms.append(elapsed)
                    result.init_ms.append(float(init))
    return result


# Create to ready.


def create_to_ready(server: Server, kind: str, samples: int, prefix: str) -> list[float]:
    """Milliseconds from sending a create request for a small ZIP until GET shows ready,
    polling every 2 ms."""
    timings = []
    code = handler_zip(kind)
    with server.client() as api:
        for index in range(samples):
            started = time.perf_counter()
            response = api.create(f"{prefix}-{kind}-{index}", RUNTIMES[kind], HANDLER_NAMES[kind], code)
            if response.status_code != 202:
                raise RuntimeError(f"create failed: {response.status_code} {response.text}")
            function_id = response.json()["data"]["resourceId"]
            deadline = started + 30
            while time.perf_counter() < deadline:
                status = api.get(function_id)["status"]
                if status != "creating":
                    break
                time.sleep(0.002)
            if status != "ready":
                raise RuntimeError(f"function {function_id} ended {status}")
            timings.append((time.perf_counter() - started) * 1000)
    return timings


# Scale: many functions, a bounded instance count.


@dataclass
class ScaleResult:
    functions: int
    deploy_seconds: float
    baseline_rss_mb: float
    rss_mb: float
    idle_instance_processes: int
    max_instances: int
    max_observed_instances: int
    flood_functions: int
    recent_warm: int
    recent_checked: int
    oldest_cold: bool


def scale(
    server: Server, count: int, max_instances: int, idle_seconds: float,
    progress: Callable[[str], None],
) -> ScaleResult:
    """Deploy `count` functions, let their instances go idle and stop, then read the
    server's memory and process count; then invoke more distinct functions than the instance
    cap allows and check the cap holds and the least recently used instances stopped."""
    assert server.process is not None
    pid = server.process.pid
    baseline = process_memory(pid)
    code = handler_zip("python")
    created: list[str] = []
    lock = threading.Lock()
    started = time.perf_counter()

    def create_one(index: int) -> None:
        with server.client() as api:
            function = api.deploy(f"scale-{index}", RUNTIMES["python"], HANDLER_NAMES["python"], code)
        with lock:
            created.append(str(function["id"]))
            if len(created) % 1000 == 0:
                progress(f"scale: {len(created)} functions ready")

    pool = ThreadPoolExecutor(8)
    try:
        list(pool.map(create_one, range(count)))
    finally:
        # On an error or an interrupt, drop the creates still queued instead of running them.
        pool.shutdown(cancel_futures=True)
    deploy_seconds = time.perf_counter() - started
    time.sleep(idle_seconds + 2)
    memory = process_memory(pid)
    idle_processes = len(instance_trees(pid))

    flood = created[: max_instances * 2 + 8]
    observed = 0
    order: list[tuple[str, str]] = []
    with server.client() as api:
        for function_id in flood:
            response = api.invoke(function_id, {})
            order.append((function_id, response.headers.get("x-rocketstack-request-id", "")))
            observed = max(observed, len(instance_trees(pid)))
        # The most recently used functions should still be warm, the oldest should not.
        recent = flood[-(max_instances // 2):]
        warm = 0
        for function_id in recent:
            response = api.invoke(function_id, {})
            request_id = response.headers["x-rocketstack-request-id"]
            reports = api.logs(function_id, requestId=request_id)["reports"]
            if reports and reports[0].get("initDurationMs") is None:
                warm += 1
        response = api.invoke(flood[0], {})
        reports = api.logs(flood[0], requestId=response.headers["x-rocketstack-request-id"])["reports"]
        oldest_cold = bool(reports) and reports[0].get("initDurationMs") is not None
    return ScaleResult(
        functions=count,
        deploy_seconds=deploy_seconds,
        baseline_rss_mb=baseline.rss_mb if baseline else float("nan"),
        rss_mb=memory.rss_mb if memory else float("nan"),
        idle_instance_processes=idle_processes,
        max_instances=max_instances,
        max_observed_instances=observed,
        flood_functions=len(flood),
        recent_warm=warm,
        recent_checked=len(recent),
        oldest_cold=oldest_cold,
    )


# Sustained load.


@dataclass
class SoakResult:
    seconds: float
    peak_rps: float
    rps: float
    errors: int
    p99_ms: float
    # (seconds since start, server RSS MiB, instance processes, their summed USS MiB)
    samples: list[tuple[float, float, int, float]]


def soak(
    server: Server, target: Target, peak_rps: float, connections: int, seconds: float,
    sample_every: float,
) -> SoakResult:
    """Hold about 80% of `peak_rps` for `seconds` with wrk, pacing each connection with a
    delay calibrated in a short run first, and sample the server's memory meanwhile."""
    assert server.process is not None
    wanted = 0.8 * peak_rps
    # At the peak each connection waits connections/peak per request; add the gap that
    # brings the rate down to 80%, then correct it once from a short calibration run.
    delay_ms = max(0.0, (connections / wanted - connections / peak_rps) * 1000)
    for _ in range(2):
        trial = run_wrk(target, connections, 2, delay_ms=delay_ms)
        achieved = trial.requests_per_second
        if achieved <= 0:
            break
        per_request_ms = connections / achieved * 1000
        delay_ms = max(0.0, delay_ms + (connections / wanted * 1000 - per_request_ms))
    samples: list[tuple[float, float, int, float]] = []
    run = WrkRun(target, connections, seconds, delay_ms=delay_ms)
    started = time.monotonic()
    pid = server.process.pid
    while run.process.poll() is None:
        memory = process_memory(pid)
        instances = instance_processes(pid)
        samples.append(
            (
                time.monotonic() - started,
                memory.rss_mb if memory else float("nan"),
                len(instances),
                sum(i.uss_mb for i in instances),
            )
        )
        deadline = time.monotonic() + sample_every
        while run.process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
    result = run.result()
    return SoakResult(
        seconds=result.seconds,
        peak_rps=peak_rps,
        rps=result.requests_per_second,
        errors=result.errors,
        p99_ms=result.p99_ms,
        samples=samples,
    )


def rocketstack_targets(server: Server, functions: dict[str, dict[str, object]]) -> list[Target]:
    authorization = f"Bearer {ADMIN_KEY}"
    targets = []
    for kind, function in functions.items():
        targets.append(
            Target(
                f"rocketstack invoke {kind}",
                f"{server.url}/v1/functions/{function['id']}/invoke",
                authorization=authorization,
            )
        )
    for kind, function in functions.items():
        targets.append(Target(f"rocketstack public URL {kind}", str(function["publicUrl"])))
    return targets


def check_answers(targets: list[Target]) -> None:
    """Fail early when a target does not return {"ok": true}."""
    for target in targets:
        headers = {"Content-Type": "application/json"}
        if target.authorization:
            headers["Authorization"] = target.authorization
        response = httpx.request(target.method, target.url, content=target.body, headers=headers, timeout=30)
        if response.status_code != 200 or response.json() != {"ok": True}:
            raise RuntimeError(
                f"{target.name} returned {response.status_code} {response.text[:200]!r}, "
                'not {"ok": true}'
            )
