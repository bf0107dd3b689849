"""The seccomp filter of an instance: every system call is allowed except those that
attack the kernel or escape the sandbox, which fail with EPERM. Built once with libseccomp
and exported as a BPF program, so a freshly forked child only has to install bytes."""

from __future__ import annotations

import errno
import logging
import tempfile

from rocketstack.sandbox.linux import CLONE_NEWUSER

log = logging.getLogger(__name__)

# Calls no handler needs and that widen the kernel's attack surface or leave the sandbox.
DENIED = (
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
    "mount",
    "umount2",
    "pivot_root",
    "chroot",
    "move_mount",
    "open_tree",
    "fsopen",
    "fsconfig",
    "fsmount",
    "fspick",
    "mount_setattr",
    "unshare",
    "setns",
    "bpf",
    "keyctl",
    "add_key",
    "request_key",
    "perf_event_open",
    "userfaultfd",
    "io_uring_setup",
    "io_uring_enter",
    "io_uring_register",
    "kexec_load",
    "kexec_file_load",
    "init_module",
    "finit_module",
    "delete_module",
    "reboot",
    "swapon",
    "swapoff",
    "acct",
    "quotactl",
    "open_by_handle_at",
    "name_to_handle_at",
    "lookup_dcookie",
    "syslog",
    "settimeofday",
    "clock_settime",
    "clock_adjtime",
    "adjtimex",
    "personality",
)


def build_filter() -> bytes:
    """Return the filter as BPF bytes; raise OSError or ImportError when libseccomp is
    unavailable."""
    import pyseccomp

    seccomp_filter = pyseccomp.SyscallFilter(pyseccomp.ALLOW)
    # Calls through another ABI (i386, x32) would dodge the rules, which name x86_64 calls.
    seccomp_filter.set_attr(pyseccomp.Attr.ACT_BADARCH, pyseccomp.KILL_PROCESS)
    denied = pyseccomp.ERRNO(errno.EPERM)
    for name in DENIED:
        try:
            seccomp_filter.add_rule(denied, name)
        except (OSError, ValueError, RuntimeError) as error:
            # An older libseccomp may not know a newer call; the kernel then lacks it too.
            log.debug("seccomp: cannot name %s: %s", name, error)
    # A new user namespace would give the handler capabilities over its own mounts.
    seccomp_filter.add_rule(
        denied, "clone", pyseccomp.Arg(0, pyseccomp.MASKED_EQ, CLONE_NEWUSER, CLONE_NEWUSER)
    )
    # clone3 passes its flags in memory that BPF cannot read, so it reports "not
    # implemented" and the C libraries fall back to clone, which the rule above checks.
    seccomp_filter.add_rule(pyseccomp.ERRNO(errno.ENOSYS), "clone3")
    with tempfile.TemporaryFile() as file:
        seccomp_filter.export_bpf(file)
        file.seek(0)
        return file.read()
