"""Process-wide memory setting for the server: large freed blocks go back to the system.

glibc serves a block from the heap instead of its own mapping once a block that large has
been freed before (its mmap threshold rises with each free, up to 32 MiB), and a thread's
heap keeps what it has held. Each station login runs an argon2 check (19 MiB of working
memory) on a worker thread, so every worker thread ends up holding 19 MiB for good: ~115 MiB
with asyncio's default pool, ~12 KiB per connection at 10,000 stations. A fixed threshold
keeps every block from 1 MiB up in a mapping of its own, returned to the system when freed.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

_M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter (malloc.h)
LARGE_BLOCK_BYTES = 1 << 20


def return_large_blocks_to_system(*, threshold_bytes: int = LARGE_BLOCK_BYTES) -> bool:
    """Fix glibc's mmap threshold at `threshold_bytes`; False where there is no glibc."""
    if not sys.platform.startswith("linux"):
        return False
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (musl has no mallopt)
        return False
    return bool(mallopt(_M_MMAP_THRESHOLD, threshold_bytes))
