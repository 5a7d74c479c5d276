"""A watchdog process that cleans up after harness programs even if the runner is SIGKILLed.

Harness programs run in process groups of their own (so a timeout can kill a program and every
child it started), which also means a signal that kills the runner does not reach them. Ctrl-C,
SIGTERM and a normal exit are handled by the runner itself; SIGKILL (the OOM killer, a CI
time-out) cannot be. So the runner starts one small reaper process per run and tells it, over a
pipe, which process groups and temporary folders are live. When the pipe reaches end-of-file --
the runner closed it, or died in any way at all -- the reaper kills the groups still listed and
removes the folders still listed, then exits. It sits in a session of its own, so a Ctrl-C on
the terminal does not kill it before it has done its job.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

_REAPER = r"""
import os, shutil, signal, sys
signal.signal(signal.SIGINT, signal.SIG_IGN)
groups, dirs = set(), set()
for line in sys.stdin.buffer:
    kind, _, arg = line.rstrip(b"\n").partition(b" ")
    if kind == b"+g": groups.add(int(arg))
    elif kind == b"-g": groups.discard(int(arg))
    elif kind == b"+d": dirs.add(bytes.fromhex(arg.decode()))
    elif kind == b"-d": dirs.discard(bytes.fromhex(arg.decode()))
for g in groups:
    try: os.killpg(g, signal.SIGKILL)
    except OSError: pass
for d in dirs:
    shutil.rmtree(d, ignore_errors=True)
"""


class Reaper:
    """The runner's side of the watchdog: ``track``/``untrack`` groups and folders; ``close``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._proc = subprocess.Popen([sys.executable, "-I", "-c", _REAPER], stdin=subprocess.PIPE,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                      start_new_session=True, close_fds=True)

    def _say(self, kind: str, arg: str | int) -> None:
        # folder paths travel as hex: a newline in a path cannot break the line protocol
        text = os.fsencode(arg).hex() if isinstance(arg, Path) else str(arg)
        line = f"{kind} {text}".encode()
        with self._lock:
            try:
                self._proc.stdin.write(line + b"\n")
                self._proc.stdin.flush()
            except (BrokenPipeError, ValueError, OSError):
                pass  # the reaper is gone; the runner still cleans up on every path it sees

    def track_group(self, pgid: int) -> None:
        self._say("+g", pgid)

    def untrack_group(self, pgid: int) -> None:
        self._say("-g", pgid)

    def track_dir(self, path: Path) -> None:
        self._say("+d", Path(path))

    def untrack_dir(self, path: Path) -> None:
        self._say("-d", Path(path))

    def close(self) -> None:
        """End the reaper: it cleans whatever is still listed (nothing, on a clean exit)."""
        with self._lock:
            try:
                self._proc.stdin.close()
            except OSError:
                pass
        try:
            self._proc.wait(5)
        except subprocess.TimeoutExpired:
            self._proc.kill()
