"""Typed settings built once at start from an environment mapping; errors name the variable."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from rocketstack.errors import ConfigurationError


def _int(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigurationError(f"{name}={raw!r} is not an integer; set it to a whole number") from None
    if not low <= value <= high:
        raise ConfigurationError(f"{name}={value} is out of range; set it between {low} and {high}")
    return value


def _float(env: Mapping[str, str], name: str, default: float, low: float) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigurationError(f"{name}={raw!r} is not a number; set it to a number") from None
    if value < low:
        raise ConfigurationError(f"{name}={value} is too small; set it to at least {low}")
    return value


@dataclass(frozen=True)
class Settings:
    """Every setting of a server; see `from_env` for the variable behind each field."""

    data_dir: Path
    host: str = "127.0.0.1"
    port: int = 8080
    public_port: int = 8081
    public_base_url: str = ""
    admin_api_key: str | None = None
    python312: str | None = None
    node20: str | None = None
    # Seconds an instance may stay idle before it is stopped.
    instance_idle_seconds: float = 300.0
    # In-flight invocations shared by all functions without reserved concurrency.
    unreserved_concurrency: int = 100
    # Instances (idle or busy) on this node; least recently used idle ones stop first.
    max_instances: int = 256
    # Processes kept started and confined ahead of need, per runtime and memory size in
    # recent use. A cold start takes one of them instead of starting a runtime, and 0
    # turns this off.
    prestarted_per_size: int = 2
    # Bytes of log output kept per invocation before a truncation marker is stored.
    log_max_bytes_per_invocation: int = 1024 * 1024
    log_retention_days: int = 7
    # "none" cuts instances off any network; "outbound" lets them reach other hosts
    # but never this host's loopback services.
    network_policy: str = "none"
    # Isolation backend: "namespace" (falls back to "process", with a warning, when the
    # host cannot provide it) or "process".
    sandbox: str = "namespace"
    # Bytes of log output kept per function per minute, across all its invocations.
    log_max_bytes_per_function_minute: int = 10 * 1024 * 1024
    # Queued invocations run at most this many at once on this node.
    queue_concurrency: int = 10
    # Delay before the first retry of a failed queued invocation; it doubles per retry.
    queue_retry_base_seconds: float = 10.0
    # How often the schedule clock is read and due schedules run.
    scheduler_tick_seconds: float = 1.0
    # A file holding the schedule clock's time (epoch seconds), read on every tick in place
    # of the system clock, so tests can move time; None uses the system clock.
    scheduler_clock_file: Path | None = None
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def api_url(self) -> str:
        return f"http://{_url_host(self.host)}:{self.port}"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        """Build settings from `env` (default: the process environment), then apply
        `overrides` (command-line flags), which win over the variables."""
        env = dict(os.environ if env is None else env)
        host = str(overrides.get("host") or env.get("ROCKETSTACK_HOST") or "127.0.0.1")
        port = overrides.get("port") or _int(env, "ROCKETSTACK_PORT", 8080, 0, 65535)
        public_port = overrides.get("public_port") or _int(
            env, "ROCKETSTACK_PUBLIC_PORT", 8081, 0, 65535
        )
        data_dir = Path(
            str(overrides.get("data_dir") or env.get("ROCKETSTACK_DATA_DIR") or ".rocketstack")
        ).expanduser().resolve()
        public_base_url = str(
            overrides.get("public_base_url")
            or env.get("ROCKETSTACK_PUBLIC_BASE_URL")
            or f"http://{_url_host(host)}:{public_port}"
        ).rstrip("/")
        if not public_base_url.startswith(("http://", "https://")):
            raise ConfigurationError(
                f"ROCKETSTACK_PUBLIC_BASE_URL={public_base_url!r} is not an http(s) URL; "
                "set it to the address clients use, e.g. https://fn.example.com"
            )
        network_policy = env.get("ROCKETSTACK_NETWORK_POLICY", "none")
        if network_policy not in ("none", "outbound"):
            raise ConfigurationError(
                f"ROCKETSTACK_NETWORK_POLICY={network_policy!r} is not valid; "
                "set it to 'none' or 'outbound'"
            )
        sandbox = env.get("ROCKETSTACK_SANDBOX") or "namespace"
        if sandbox not in ("namespace", "process"):
            raise ConfigurationError(
                f"ROCKETSTACK_SANDBOX={sandbox!r} is not valid; set it to 'namespace' or 'process'"
            )
        return cls(
            data_dir=data_dir,
            host=host,
            port=int(port),  # type: ignore[call-overload]
            public_port=int(public_port),  # type: ignore[call-overload]
            public_base_url=public_base_url,
            admin_api_key=env.get("ROCKETSTACK_ADMIN_API_KEY") or None,
            python312=env.get("ROCKETSTACK_PYTHON312") or None,
            node20=env.get("ROCKETSTACK_NODE20") or None,
            instance_idle_seconds=_float(env, "ROCKETSTACK_INSTANCE_IDLE_SECONDS", 300.0, 0.1),
            unreserved_concurrency=_int(
                env, "ROCKETSTACK_UNRESERVED_CONCURRENCY", 100, 1, 100_000
            ),
            max_instances=_int(env, "ROCKETSTACK_MAX_INSTANCES", 256, 1, 100_000),
            prestarted_per_size=_int(env, "ROCKETSTACK_PRESTARTED_PER_SIZE", 2, 0, 64),
            log_max_bytes_per_invocation=_int(
                env, "ROCKETSTACK_LOG_MAX_BYTES_PER_INVOCATION", 1024 * 1024, 1024, 1 << 30
            ),
            log_retention_days=_int(env, "ROCKETSTACK_LOG_RETENTION_DAYS", 7, 1, 3650),
            network_policy=network_policy,
            sandbox=sandbox,
            log_max_bytes_per_function_minute=_int(
                env, "ROCKETSTACK_LOG_MAX_BYTES_PER_FUNCTION_MINUTE", 10 * 1024 * 1024, 1024, 1 << 40
            ),
            queue_concurrency=_int(env, "ROCKETSTACK_QUEUE_CONCURRENCY", 10, 1, 1000),
            queue_retry_base_seconds=_float(env, "ROCKETSTACK_QUEUE_RETRY_BASE_SECONDS", 10.0, 0.01),
            scheduler_tick_seconds=_float(env, "ROCKETSTACK_SCHEDULER_TICK_SECONDS", 1.0, 0.01),
            scheduler_clock_file=(
                Path(env["ROCKETSTACK_SCHEDULER_CLOCK_FILE"])
                if env.get("ROCKETSTACK_SCHEDULER_CLOCK_FILE")
                else None
            ),
        )


def _url_host(host: str) -> str:
    if host in ("0.0.0.0", ""):
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host
