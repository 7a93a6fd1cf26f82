"""The C heap of a process that trains: keep freed memory for the next step (glibc).

A training step allocates its activations and gradients afresh (a few MB each) and frees them
at its end. With glibc's default settings the freed memory goes back to the system (arrays
above the mmap threshold are unmapped; the heap's free top beyond the trim threshold is
trimmed), and the next step's arrays take it back page by page: one page fault per 4 KiB.
One process running the whole batch mostly escapes this (glibc raises its thresholds as it
sees large blocks freed: 240 faults a SimpleConvNet step at batch 100), but a batch split by
``set_num_threads`` does not. SimpleConvNet at batch 100 in two parts faulted 770-2,540 times
a step in this process and 1,420-2,200 in the worker; in threads, 2,290-3,130 times; a
fault costs 3-4 us in the virtual machines we measure on, 6.5-9.4 ms of system time a step.

:func:`keep_freed_memory` raises both thresholds (``mallopt``), so that the heap keeps what a
step frees and the next step reuses it: 0-6 faults a step instead, and SimpleConvNet's step
in threads 1.3x faster (benchmarks/README.md). The cost is memory kept by the process: at
most :data:`TRIM_BYTES` of free heap above what it uses.
"""

from __future__ import annotations

import ctypes
import ctypes.util

#: arrays up to this size come from the heap, not from mmap (glibc's own ceiling for its
#: dynamic threshold)
MMAP_BYTES = 32 * 2**20
#: the free top of the heap is returned to the system only beyond this
TRIM_BYTES = 64 * 2**20

_M_TRIM_THRESHOLD = -1  # mallopt's parameter numbers (malloc.h)
_M_MMAP_THRESHOLD = -3


def keep_freed_memory() -> bool:
    """Raise glibc's mmap and trim thresholds in this process (see the module docstring).
    True if set; False where the C library is not glibc (nothing changes there)."""
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
        libc.gnu_get_libc_version  # noqa: B018 (glibc only: musl has mallopt as a no-op)
    except (OSError, AttributeError, TypeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_BYTES) and mallopt(_M_TRIM_THRESHOLD, TRIM_BYTES))
