"""Keep freed memory in the process, so that the sub-models' temporaries
are not page-faulted in afresh on every chunk of futures.

Each evaluation of a chunk (4,096 futures) makes a few hundred arrays of
packages x futures, 0.4 MB each for the seeds. glibc's allocator serves
blocks that size with ``mmap`` and returns them to the system when freed, so
every temporary is touched page by page again: measured on this machine, a
compiled loop writing four such arrays ran 20 times slower than the same
loop writing one (10.6 against 0.5 ms), and with the two thresholds below
raised it ran at the speed of the one. :func:`keep_freed_memory` raises them
once per process (``mallopt``; the same as setting
``MALLOC_MMAP_THRESHOLD_`` and ``MALLOC_TRIM_THRESHOLD_``): blocks up to
32 MiB come from the heap, and up to 256 MiB of freed heap is kept for
reuse. A process's memory then stays near its peak instead of shrinking
after each chunk, which the block size already bounds.

It also caps glibc's arenas at one (``M_ARENA_MAX``, as
``MALLOC_ARENA_MAX=1``). glibc gives each new thread that allocates an arena
of its own, whose heaps the thresholds above do not keep in the same way: an
exploration of 10,000 futures x 12 packages run in one of the web server's
threads took 86-88 ms of CPU against 72-75 ms in the main thread, and 66-69 ms
in a thread with one shared arena (the one arena serves every thread, which
the interpreter lock serialises for the most part anyway). The cap holds for
threads started after the call, so the web app makes it before its threads
(``interfaces/web/app.create_app``). Elsewhere than glibc it does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD, _M_ARENA_MAX = -1, -3, -8
_MMAP_THRESHOLD = 32 << 20  # glibc's largest allowed value on 64-bit systems
_TRIM_THRESHOLD = 256 << 20
_state: list[bool] = []


def keep_freed_memory() -> bool:
    """Raise glibc's mmap and trim thresholds, once per process; whether it
    took effect."""
    if not _state:
        try:
            mallopt = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").mallopt
        except (OSError, AttributeError):  # not glibc
            _state.append(False)
        else:
            _state.append(bool(mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD)) and bool(mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD))
                          and bool(mallopt(_M_ARENA_MAX, 1)))
    return _state[0]
