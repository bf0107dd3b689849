"""Runs every benchmark figure and writes the report.

    python -m benchmarks.run                # the full run behind docs/benchmarks.md
    python -m benchmarks.run --quick --out /tmp/bench.md   # a few seconds, no peers

The full run starts the floor app, serverless-offline and Rocketstack servers on loopback,
measures them in interleaved repetitions and writes docs/benchmarks.md. The quick mode runs
each step with tiny sizes so a test can check that the bench still works."""

from __future__ import annotations

import argparse
import os
import shlex
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks import report, scenarios
from benchmarks.loadgen import Target, ensure_wrk
from benchmarks.processes import FloorApp, ServerlessOffline, install_serverless
from benchmarks.profile import profile_under_load
from rocketstack.runtime.runtimes import discover
from rocketstack.settings import Settings
from tests.harness import Server

REPO = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO / "docs" / "benchmarks.md"


@dataclass(frozen=True)
class Plan:
    """Sizes of one run; `full()` is the run behind the report, `quick()` the test's."""

    quick: bool
    seconds: float
    repetitions: int
    connections: int
    with_serverless: bool
    with_profile: bool
    cold_samples: int
    cold_distinct: int
    burst_width: int
    burst_rounds: int
    create_samples: int
    scale_functions: int
    scale_max_instances: int
    soak_seconds: float
    soak_sample_every: float

    @classmethod
    def full(cls) -> Plan:
        return cls(
            quick=False, seconds=8, repetitions=3, connections=32, with_serverless=True,
            with_profile=True, cold_samples=60, cold_distinct=12, burst_width=8,
            burst_rounds=6, create_samples=20, scale_functions=10_000,
            scale_max_instances=16, soak_seconds=600, soak_sample_every=15,
        )

    @classmethod
    def quick_plan(cls) -> Plan:
        return cls(
            quick=True, seconds=1, repetitions=1, connections=8, with_serverless=False,
            with_profile=False, cold_samples=4, cold_distinct=3, burst_width=3,
            burst_rounds=1, create_samples=2, scale_functions=12, scale_max_instances=4,
            soak_seconds=2, soak_sample_every=0.5,
        )


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


def phase(results: report.Results, name: str) -> None:
    """Log the start of a phase and note the machine's load average then."""
    load = os.getloadavg()[0]
    results.load_averages.append((name, load))
    log(f"{name} (load average {load:.1f})")


def run(plan: Plan, results: report.Results, work: Path) -> None:
    """Run every phase, filling `results` as each one finishes."""
    results.machine = report.machine()
    results.started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    ensure_wrk()
    python312 = discover(Settings.from_env({})).get("python3.12")
    floor = FloorApp(work / "floor.log")
    peer: ServerlessOffline | None = None
    main = Server(work / "main" / "data")
    try:
        log("starting the floor app and Rocketstack")
        floor.start()
        main.start()
        with main.client() as api:
            functions = {
                kind: scenarios.deploy(api, f"bench-{kind}", kind, isPublic="true", publicMethod="POST")
                for kind in ("python", "node")
            }
        targets = [Target("floor (Starlette on uvicorn)", floor.url)]
        targets += scenarios.rocketstack_targets(main, functions)
        if plan.with_serverless:
            log("installing and starting serverless-offline")
            install_serverless()
            peer = ServerlessOffline(work / "serverless.log", python312.executable if python312 else None)
            peer.start()
            for kind in ("python", "node"):
                targets.append(Target(f"serverless-offline invoke {kind}", peer.invoke_url(kind)))
            for kind in ("python", "node"):
                targets.append(Target(f"serverless-offline HTTP {kind}", peer.route_url(kind)))
        scenarios.check_answers(targets)
        results.isolation = _isolation_lines(main)
        results.targets = targets
        phase(results, "throughput")
        results.load = scenarios.measure_load(
            targets, plan.repetitions, plan.seconds, plan.connections, log
        )
        if peer is not None:
            peer.stop()
            peer = None

        time.sleep(1)
        assert main.process is not None
        results.instance_memory = scenarios.idle_instance_memory(main.process.pid)
        log(f"idle instance memory: {results.instance_memory}")

        if plan.with_profile:
            log("profiling the invoke path under load")
            results.profile = profile_under_load(
                main.process.pid, targets[1], plan.connections, 10, work
            )

        phase(results, "create to ready")
        for kind in ("python", "node"):
            results.create_ms[kind] = scenarios.create_to_ready(
                main, kind, plan.create_samples, "create"
            )

        phase(results, "sustained load")
        invoke_python = targets[1]
        peak = statistics.median(r.requests_per_second for r in results.load[invoke_python.name].many)
        results.soak = scenarios.soak(
            main, invoke_python, peak, plan.connections, plan.soak_seconds, plan.soak_sample_every
        )
        results.soak_command = shlex.join(
            ["wrk", "-t2", f"-c{plan.connections}", f"-d{int(plan.soak_seconds)}s", "-s",
             "benchmarks/wrk/request.lua", "URL"]
        )
    finally:
        if peer is not None:
            peer.stop()
        floor.stop()
        main.stop()

    cold = Server(
        work / "cold" / "data",
        env={"ROCKETSTACK_MAX_INSTANCES": str(max(2, plan.cold_distinct - 2))},
    )
    try:
        phase(results, "cold starts")
        cold.start()
        # Every flood before any burst: a burst leaves more instances than the cap (all
        # were busy), and the flood that follows would evict those instead of its own.
        for kind in ("python", "node"):
            results.cold[kind] = scenarios.cold_starts(
                cold, kind, plan.cold_samples, plan.cold_distinct
            )
        for kind in ("python", "node"):
            results.spaced[kind] = scenarios.cold_starts(
                cold, kind, plan.cold_samples, plan.cold_distinct, pause_seconds=0.3, prefix="spaced"
            )
        for kind in ("python", "node"):
            results.burst[kind] = scenarios.burst_cold_starts(
                cold, kind, plan.burst_width, plan.burst_rounds
            )
    finally:
        cold.stop()

    idle_seconds = 3.0
    scale_server = Server(
        work / "scale" / "data",
        env={
            "ROCKETSTACK_MAX_INSTANCES": str(plan.scale_max_instances),
            "ROCKETSTACK_INSTANCE_IDLE_SECONDS": str(idle_seconds),
            # The scale run checks memory and process counts, not the access log.
            "ROCKETSTACK_LOG_LEVEL": "WARNING",
            # Without pre-started processes (a fixed set, whatever the number of functions)
            # every instance counted belongs to a function.
            "ROCKETSTACK_PRESTARTED_PER_SIZE": "0",
        },
    )
    try:
        phase(results, "scale")
        scale_server.start()
        results.scale = scenarios.scale(
            scale_server, plan.scale_functions, plan.scale_max_instances, idle_seconds, log
        )
    finally:
        scale_server.stop()
    results.finished = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())


def _isolation_lines(server: Server) -> list[str]:
    """Return the server's start-up lines about its sandbox, for the report."""
    return [
        line.split("] ", 1)[-1]
        for line in server.log().splitlines()
        if "isolation" in line or "sandbox" in line
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, no serverless-offline")
    parser.add_argument("--out", type=Path, default=None, help="report path (Markdown)")
    parser.add_argument(
        "--soak-seconds", type=float, default=None, help="length of the sustained-load run, s"
    )
    parser.add_argument(
        "--scale-functions", type=int, default=None, help="functions deployed for the scale run"
    )
    args = parser.parse_args(argv)
    plan = Plan.quick_plan() if args.quick else Plan.full()
    overrides = {}
    if args.soak_seconds is not None:
        overrides["soak_seconds"] = args.soak_seconds
    if args.scale_functions is not None:
        overrides["scale_functions"] = args.scale_functions
    if overrides:
        plan = Plan(**{**plan.__dict__, **overrides})
    out = args.out or DEFAULT_OUT
    if plan.quick and args.out is None:
        parser.error("--quick needs --out, so a quick run never replaces the recorded report")
    os.chdir(REPO)
    with tempfile.TemporaryDirectory(prefix="rocketstack-bench-") as folder:
        work = Path(folder)
        for name in ("main", "cold", "scale"):
            (work / name).mkdir()
        results = report.Results(plan_quick=plan.quick, connections=plan.connections)
        failure: BaseException | None = None
        try:
            run(plan, results, work)
        except (Exception, KeyboardInterrupt) as error:
            # Write what was measured so far; the report says where the run stopped.
            failure = error
            results.failure = f"{type(error).__name__}: {error}"
            results.finished = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(report.render(results, plan, sys.argv[1:]))
    log(f"wrote {out}")
    if failure is not None:
        raise failure
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
