"""Memory and process counts read from /proc: the server's resident set and the unique set
size (USS, the private pages only this process maps) of each instance process."""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class ProcessMemory:
    pid: int
    name: str
    rss_mb: float
    uss_mb: float


def children_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as stat:
                fields = stat.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry))
    return children


def descendants(pid: int) -> list[int]:
    tree = children_map()
    found: list[int] = []
    pending = list(tree.get(pid, []))
    while pending:
        child = pending.pop()
        found.append(child)
        pending.extend(tree.get(child, []))
    return found


def process_memory(pid: int) -> ProcessMemory | None:
    """Return the process's RSS and USS in MiB, or None when it is gone."""
    try:
        with open(f"/proc/{pid}/comm") as comm:
            name = comm.read().strip()
        values: dict[str, int] = {}
        with open(f"/proc/{pid}/smaps_rollup") as rollup:
            for line in rollup:
                key, _, rest = line.partition(":")
                parts = rest.split()
                if len(parts) == 2 and parts[1] == "kB":
                    values[key] = int(parts[0])
    except (OSError, ValueError):
        return None
    uss_kb = values.get("Private_Clean", 0) + values.get("Private_Dirty", 0)
    return ProcessMemory(pid, name, values.get("Rss", 0) / 1024, uss_kb / 1024)


def instance_processes(server_pid: int) -> list[ProcessMemory]:
    """Every Python or Node process below the server: the instances (and any helper of the
    sandbox that runs one of those interpreters, such as a zygote)."""
    found = []
    for pid in descendants(server_pid):
        memory = process_memory(pid)
        if memory is not None and memory.name.startswith(("python", "node")):
            found.append(memory)
    return found
