"""Chooses the sandbox backend named by ROCKETSTACK_SANDBOX and falls back, with one
warning line per missing mechanism, when the host cannot provide it."""

from __future__ import annotations

import logging
import os

from rocketstack.sandbox.base import Sandbox
from rocketstack.sandbox.process import ProcessSandbox
from rocketstack.settings import Settings

log = logging.getLogger(__name__)

BACKENDS = ("namespace", "process")


def make_sandbox(settings: Settings) -> Sandbox:
    if settings.sandbox == "process":
        sandbox: Sandbox = ProcessSandbox()
        sandbox.warnings.append(
            "ROCKETSTACK_SANDBOX=process: instances run without namespaces, separate users "
            "or seccomp, and can read the host's files and reach its ports"
        )
        return sandbox
    from rocketstack.sandbox import namespace, network

    state_dir = settings.data_dir / "sandbox"
    reason = None if os.geteuid() == 0 else "the server does not run as root"
    if reason is None:
        reason = namespace.probe(state_dir)
    if reason is not None:
        sandbox = ProcessSandbox()
        sandbox.warnings.append(
            f"namespace sandbox unavailable ({reason}): instances run as plain processes "
            "without namespaces, separate users or seccomp, and can read the host's files "
            "and reach its ports"
        )
        return sandbox
    policy = settings.network_policy
    warnings = []
    if policy == "outbound":
        blocked = network.block_loopback(
            namespace.UID_BASE, namespace.UID_BASE + namespace.UID_COUNT - 1
        )
        if blocked is not None:
            policy = "none"
            warnings.append(
                f"network policy 'outbound' unavailable ({blocked}): instances get no "
                "network at all instead"
            )
    sandbox = namespace.NamespaceSandbox(state_dir, policy)
    sandbox.warnings.extend(warnings)
    return sandbox
