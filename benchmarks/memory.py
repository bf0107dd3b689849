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


@dataclass(frozen=True)
class InstanceTree:
    """One instance: its first process (tini, or the init a zygote forks) and every
    process below it, with their memory summed."""

    pid: int
    runtime: str
    processes: int
    rss_mb: float
    uss_mb: float


def instance_trees(server_pid: int) -> list[InstanceTree]:
    """Return every instance below the server. An instance is a child of the server or of
    a zygote (a child of the server whose command names a zygote); zygotes are left out."""
    tree = children_map()
    roots: list[int] = []
    for child in tree.get(server_pid, []):
        if b"zygote" in cmdline(child):
            roots.extend(tree.get(child, []))
        else:
            roots.append(child)
    found = []
    for root in roots:
        members = [root]
        pending = list(tree.get(root, []))
        while pending:
            pid = pending.pop()
            members.append(pid)
            pending.extend(tree.get(pid, []))
        memories = [m for m in map(process_memory, members) if m is not None]
        if not memories:
            continue
        runtime = "node" if any(m.name.startswith("node") for m in memories) else "python"
        found.append(
            InstanceTree(
                root,
                runtime,
                len(memories),
                sum(m.rss_mb for m in memories),
                sum(m.uss_mb for m in memories),
            )
        )
    return found


def cmdline(pid: int) -> bytes:
    """Return the process's command line, NUL-separated, or b"" when it is gone."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as file:
            return file.read()
    except OSError:
        return b""
