"""Instances started and confined ahead of need. A cold start takes one of them, links its
function's files into the instance's code directory and sends the load message, so it
skips the fork, the sandbox set-up and the runtime's boot. The set is refilled in the
background, one process at a time, for each runtime and memory size in recent use.

An instance's code directory is bound into its sandbox when the process starts, before
its function is known. It is therefore an empty directory (a slot) that the host fills
with hard links to the function's files: cheap, and the files stay read-only inside."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import errno
import itertools
import logging
import os
import shutil
import stat
import time
from pathlib import Path

from rocketstack.deploy.validation import DEFAULT_MEMORY_MB
from rocketstack.runtime.instance import Instance
from rocketstack.runtime.runtimes import RuntimeInfo
from rocketstack.runtime.spec import FunctionSpec
from rocketstack.sandbox.base import Sandbox

log = logging.getLogger(__name__)

# Runtime and memory size pairs kept filled. A new size takes the place of the least
# recently used one only when that one has been unused for SIZE_IDLE_SECONDS. Sizes in
# rotation beyond this number therefore keep their places, instead of replacing each
# other before any of their processes is used.
MAX_SIZES = 6
SIZE_IDLE_SECONDS = 60.0
# Cold starts of one size within DEMAND_WINDOW_SECONDS raise the count kept for it, up to
# MAX_PER_SIZE, for DEMAND_HOLD_SECONDS: the next burst of the same width then finds a
# process for each of its calls.
MAX_PER_SIZE = 8
DEMAND_WINDOW_SECONDS = 1.0
DEMAND_HOLD_SECONDS = 300.0

SizeKey = tuple[str, int]


class Prestarter:
    def __init__(
        self,
        runtimes: dict[str, RuntimeInfo],
        sandbox: Sandbox,
        slots_dir: Path,
        per_size: int,
        log_max_bytes: int,
        max_total: int = MAX_SIZES * MAX_PER_SIZE,
    ) -> None:
        self.runtimes = runtimes
        self.sandbox = sandbox
        self.slots_dir = slots_dir
        self.per_size = per_size
        # Processes ready at once, across sizes; they are not counted as instances.
        self.max_total = max_total
        self.log_max_bytes = log_max_bytes
        self._ready: dict[SizeKey, collections.deque[Instance]] = collections.defaultdict(collections.deque)
        # Sizes in recent use with the time of their last use, least recent first.
        self._sizes: collections.OrderedDict[SizeKey, float] = collections.OrderedDict()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._slot_numbers = itertools.count(1)
        # Times of recent takes per size, and the raised count with the time it ends.
        self._takes: dict[SizeKey, collections.deque[float]] = collections.defaultdict(collections.deque)
        self._raised: dict[SizeKey, tuple[int, float]] = {}

    @property
    def enabled(self) -> bool:
        return self.per_size > 0

    def start(self) -> None:
        if not self.enabled:
            return
        # Slots of an earlier run belong to processes that are gone.
        shutil.rmtree(self.slots_dir, ignore_errors=True)
        self.slots_dir.mkdir(parents=True, mode=0o700)
        # Filled at start, before the first function: each runtime at the default memoryMb.
        for name, runtime in self.runtimes.items():
            if runtime.available:
                self._sizes[(name, DEFAULT_MEMORY_MB)] = time.monotonic()
        self._task = asyncio.create_task(self._refill(), name="prestart-refill")
        self._wake.set()

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        for ready in self._ready.values():
            while ready:
                ready.popleft().stop()

    def take(self, runtime: str, memory_mb: int) -> Instance | None:
        """Return a started instance of `runtime` with `memory_mb`, or None when none is
        ready; either way the size is refilled."""
        if not self.enabled:
            return None
        key = (runtime, memory_mb)
        self._note(key)
        self._count_demand(key)
        self._wake.set()
        ready = self._ready.get(key)
        while ready:
            instance = ready.popleft()
            if instance.alive:
                return instance
            instance.stop()
        return None

    def target_count(self, runtime: str, memory_mb: int) -> int:
        """Return how many processes of this size are kept ready now."""
        key = (runtime, memory_mb)
        if key not in self._sizes:
            return 0
        raised, until = self._raised.get(key, (0, 0.0))
        if until < time.monotonic():
            raised = 0
        return max(self.per_size, raised)

    def trim(self) -> None:
        """Stop ready processes beyond the count kept, once a raised count has ended."""
        for key, ready in self._ready.items():
            while len(ready) > self.target_count(*key):
                ready.pop().stop()

    def _count_demand(self, key: SizeKey) -> None:
        now = time.monotonic()
        takes = self._takes[key]
        takes.append(now)
        while takes[0] < now - DEMAND_WINDOW_SECONDS:
            takes.popleft()
        if len(takes) > self.per_size:
            raised, _ = self._raised.get(key, (0, 0.0))
            self._raised[key] = (min(MAX_PER_SIZE, max(raised, len(takes))), now + DEMAND_HOLD_SECONDS)

    def _note(self, key: SizeKey) -> None:
        now = time.monotonic()
        if key in self._sizes:
            self._sizes[key] = now
            self._sizes.move_to_end(key)
            return
        if len(self._sizes) >= MAX_SIZES:
            oldest, last_used = next(iter(self._sizes.items()))
            if now - last_used < SIZE_IDLE_SECONDS:
                return
            del self._sizes[oldest]
            self._takes.pop(oldest, None)
            self._raised.pop(oldest, None)
            for instance in self._ready.pop(oldest, ()):
                instance.stop()
        self._sizes[key] = now

    def _short(self) -> SizeKey | None:
        """Return the most recently used size with fewer ready instances than its count,
        or None when every size is full. At `max_total` processes ready, one of a less
        recently used size stops to make room, or None is returned when there is none."""
        for key in reversed(self._sizes):
            ready = self._ready[key]
            for instance in [i for i in ready if not i.alive]:
                ready.remove(instance)
                instance.stop()
            if len(ready) >= self.target_count(*key):
                continue
            if sum(len(r) for r in self._ready.values()) < self.max_total:
                return key
            for older in self._sizes:
                if older == key:
                    return None
                if self._ready[older]:
                    self._ready[older].pop().stop()
                    return key
            return None
        return None

    async def _refill(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while (key := self._short()) is not None:
                try:
                    instance = await self._start_one(*key)
                except OSError as error:
                    log.warning("pre-starting a %s instance failed: %s", key[0], error)
                    instance = None
                if instance is None:
                    # The runtime cannot start now; the next cold start tries again.
                    break
                if key in self._sizes:
                    self._ready[key].append(instance)
                else:
                    instance.stop()

    async def _start_one(self, runtime: str, memory_mb: int) -> Instance | None:
        slot = self.slots_dir / f"s{next(self._slot_numbers)}"
        slot.mkdir(mode=0o755)
        os.chmod(slot, 0o755)
        placeholder = FunctionSpec(
            function_id="",
            tenant_id="",
            name="",
            version=0,
            runtime=runtime,
            handler="",
            code_dir=slot,
            env=(),
            memory_mb=memory_mb,
            timeout_seconds=0,
            reserved_concurrency=None,
        )
        instance = Instance(placeholder, self.runtimes[runtime], self.sandbox, self.log_max_bytes, slot=slot)
        failure = await instance.spawn(background=True)
        if failure is not None:
            log.warning("pre-starting a %s instance failed: %s", runtime, (failure.error or {}).get("errorMessage"))
            return None
        return instance


# Entries of a code directory up to which linking runs on the event loop: a few hundred
# microseconds at most, less than a hop to a worker thread.
_INLINE_ENTRIES = 64
# Entries above which a cold start binds the code into a new instance instead: linking
# costs about 20 µs per entry, a bind mount the same at any size.
MAX_LINKED_ENTRIES = 1000
# Code directories whose entry lists are kept.
_MANIFESTS_KEPT = 1024

Manifest = list[tuple[str, bool]]


class CodeLinker:
    """Fills slots with hard links to code directories. Each directory is walked once and
    its list of entries kept, so later links of the same version only create entries."""

    def __init__(self) -> None:
        # Keyed by the directory's identity as well as its path: a failed update removes
        # its directory, and the next attempt creates another at the same path.
        self._manifests: collections.OrderedDict[tuple[Path, int, int, int], Manifest] = collections.OrderedDict()

    async def entries(self, source: Path) -> Manifest | None:
        """Return the entries under `source`, or None when it cannot be read."""
        try:
            info = os.stat(source)
        except OSError:
            return None
        key = (source, info.st_dev, info.st_ino, info.st_ctime_ns)
        manifest = self._manifests.get(key)
        if manifest is not None:
            self._manifests.move_to_end(key)
            return manifest
        try:
            manifest = await asyncio.to_thread(_manifest, source)
        except OSError:
            return None
        self._manifests[key] = manifest
        if len(self._manifests) > _MANIFESTS_KEPT:
            self._manifests.popitem(last=False)
        return manifest

    async def link(self, source: Path, target: Path, manifest: Manifest) -> None:
        if len(manifest) <= _INLINE_ENTRIES:
            _apply(source, target, manifest)
        else:
            await asyncio.to_thread(_apply, source, target, manifest)


def _manifest(source: Path) -> Manifest:
    """Return the entries under `source` as (relative path, is a real directory), each
    directory before its contents."""
    entries = []
    for root, dirs, files in os.walk(source):
        relative = os.path.relpath(root, source)
        for name in dirs:
            path = name if relative == "." else os.path.join(relative, name)
            entries.append((path, not os.path.islink(os.path.join(root, name))))
        for name in files:
            entries.append((name if relative == "." else os.path.join(relative, name), False))
    return entries


def _apply(source: Path, target: Path, manifest: Manifest) -> None:
    for relative, is_directory in manifest:
        origin = os.path.join(source, relative)
        destination = os.path.join(target, relative)
        if is_directory:
            os.mkdir(destination)
            os.chmod(destination, stat.S_IMODE(os.lstat(origin).st_mode))
        else:
            _link(origin, destination)


def _link(origin: str, destination: str) -> None:
    try:
        os.link(origin, destination, follow_symlinks=False)
    except OSError as error:
        if error.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK):
            raise
        shutil.copy2(origin, destination, follow_symlinks=False)
