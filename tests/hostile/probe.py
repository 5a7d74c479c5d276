"""Run the ``conformance`` command as a user would, and measure it: the hostile suite's probe.

    python probe.py ARGS...      # same as `conformance ARGS...`

At exit it writes {"peak_mb": ..., "seconds": ...} to $PROBE_STATS: the peak resident memory of
this process (VmHWM) and of its largest waited-for child (workers, harness programs), so a test
can assert that memory stayed bounded.
"""

import atexit
import json
import os
import resource
import sys
import time

START = time.monotonic()


def _stats() -> None:
    path = os.environ.get("PROBE_STATS")
    if not path:
        return
    # VmHWM, not RUSAGE_SELF: ru_maxrss survives exec, so a probe started by a big pytest
    # worker would report the worker's size; VmHWM belongs to this program's own address space
    with open("/proc/self/status") as f:
        own_kb = next(int(line.split()[1]) for line in f if line.startswith("VmHWM:"))
    peak_kb = max(own_kb, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
    with open(path, "w") as f:
        json.dump({"peak_mb": peak_kb / 1024, "seconds": time.monotonic() - START}, f)


if __name__ == "__main__":  # worker processes re-import this module as __mp_main__
    atexit.register(_stats)
    sys.argv[0] = "conformance"
    from conformance.cli import main

    main()
