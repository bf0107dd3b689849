"""What an instance needs to run one function version; immutable, built once per version."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class FunctionSpec:
    function_id: str
    tenant_id: str
    name: str
    version: int
    runtime: str
    handler: str
    code_dir: Path
    env: tuple[tuple[str, str], ...]
    memory_mb: int
    timeout_seconds: int
    reserved_concurrency: int | None

    @property
    def key(self) -> str:
        return f"{self.function_id}:{self.version}"

    def instance_env(self) -> dict[str, str]:
        """Return the environment an instance sees: the function's variables plus the
        runtime's, and nothing of the platform's own environment."""
        env = {
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "LANG": "C.UTF-8",
            "TZ": "UTC",
            "HOME": "/tmp",
            "TMPDIR": "/tmp",
        }
        # The function's variables may replace the defaults above but not the names below,
        # which validation reserves.
        env.update(self.env)
        env.update(
            {
                "ROCKETSTACK_FUNCTION_NAME": self.name,
                "ROCKETSTACK_FUNCTION_VERSION": str(self.version),
                "ROCKETSTACK_FUNCTION_MEMORY_MB": str(self.memory_mb),
                "ROCKETSTACK_RUNTIME": self.runtime,
                "ROCKETSTACK_TASK_ROOT": str(self.code_dir),
                # Lambda's names, so code written for Lambda reads its settings unchanged.
                "AWS_LAMBDA_FUNCTION_NAME": self.name,
                "AWS_LAMBDA_FUNCTION_VERSION": str(self.version),
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(self.memory_mb),
                "LAMBDA_TASK_ROOT": str(self.code_dir),
            }
        )
        return env
