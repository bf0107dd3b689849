"""The "outbound" network policy: instances share the host's network namespace, and a
netfilter rule rejects every packet that the sandbox users send through the loopback
interface. The kernel delivers all traffic to the host's own addresses (127.0.0.1, ::1
and the addresses of its other interfaces) through loopback, so no port of the host, the
platform's included, is reachable from an instance."""

from __future__ import annotations

import logging
import shutil
import subprocess

log = logging.getLogger(__name__)


def block_loopback(uid_first: int, uid_last: int) -> str | None:
    """Install the rule for IPv4 and IPv6 once; return why that failed, or None."""
    rule = [
        "OUTPUT", "-o", "lo", "-m", "owner", "--uid-owner", f"{uid_first}-{uid_last}",
        "-j", "REJECT",
    ]
    for tool in ("iptables", "ip6tables"):
        path = shutil.which(tool, path="/usr/sbin:/sbin:/usr/bin:/bin")
        if path is None:
            return f"{tool} is not installed"
        try:
            present = subprocess.run(
                [path, "-w", "5", "-C", *rule], capture_output=True, timeout=15, check=False
            )
            if present.returncode == 0:
                continue
            added = subprocess.run(
                [path, "-w", "5", "-I", *rule], capture_output=True, text=True, timeout=15,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as error:
            return f"{tool} failed: {error}"
        if added.returncode != 0:
            return f"{tool} could not add the rule: {added.stderr.strip()}"
        log.info("%s: instances (uids %d-%d) cannot reach loopback", tool, uid_first, uid_last)
    return None
