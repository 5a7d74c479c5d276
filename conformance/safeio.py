"""File-system rules for data that comes from strangers (bundles, images, harness programs).

Four rules, one function family each, used by every module that reads or writes a user's data:

- **Writes are atomic** (:func:`atomic_write_bytes`, :func:`replace_dir`): the new content goes to
  a temporary sibling and is renamed into place only when it is whole, so a crash, a full disk or
  a Ctrl-C leaves the old content byte for byte, never a half-written file under its final name.
  A whole directory (a bundle) is swapped with ``renameat2(RENAME_EXCHANGE)`` where the kernel
  and file system have it (one atomic step), else with two renames.
- **Names from data are checked** (:func:`check_name`): case ids, pipeline ids, ops and harness
  names become path components, so they must match :data:`NAME` (no separator, no NUL, not
  ``.``/``..``) before any path is built from them.
- **Paths from data stay inside their root** (:func:`confined`): resolved (links followed) and
  checked to be below the root.
- **Memory is bounded before a file is read whole** (:func:`read_limited`, :func:`sniff`): only
  regular files (a FIFO would block forever, ``/dev/zero`` never ends), and only up to a stated
  size, checked from ``fstat`` of the opened file, and again while reading (a file that grows
  while it is read is cut off at the limit, not followed).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import os
import re
import shutil
import stat
import tempfile
from pathlib import Path

#: What a name from data (case id, pipeline id, input id, op, harness name) may look like: it
#: starts with a letter or digit, then letters, digits, '.', '_', '-' (the bundle schema's id
#: pattern). It cannot hold a separator or NUL, and cannot be '.' or '..'.
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
NAME_MAX = 200  # bytes: well under every file system's 255-byte component limit


class UnsafeData(ValueError):
    """A name or path from data that would leave its root, or a file that is not safe to read."""


def check_name(value: object, what: str) -> str:
    """``value`` if it is a safe path component (:data:`NAME`, at most :data:`NAME_MAX` bytes),
    else UnsafeData naming ``what`` and showing the value (repr: a NUL or newline stays visible)."""
    if not isinstance(value, str) or not NAME.match(value) or len(value.encode()) > NAME_MAX:
        shown = repr(value)
        if len(shown) > 80:
            shown = shown[:77] + "..."
        raise UnsafeData(f"{what} {shown} is not a safe name (letters, digits, '.', '_', '-'; "
                         f"starting with a letter or digit; at most {NAME_MAX} bytes)")
    return value


def markup_safe(text: object) -> str:
    """Data (paths, messages, names from a stranger's file) ready for a rich console string:
    control characters written as \\xNN, so a terminal escape sequence in a description never
    reaches the user's terminal, and rich markup escaped, so '[/]' is text, not a crash."""
    from rich.markup import escape

    from .report.common import printable

    return escape(printable(text))


def confined(root: Path, rel: str | Path) -> Path:
    """``root / rel`` if it resolves (following links) to a path inside ``root``; UnsafeData if
    it is absolute, holds NUL, or leaves ``root`` through '..' or a link."""
    text = str(rel)
    if "\x00" in text:
        raise UnsafeData(f"path {text!r} holds a NUL byte")
    p = Path(text)
    if p.is_absolute():
        raise UnsafeData(f"path {text!r} is absolute")
    full = Path(root) / p
    try:
        full.resolve().relative_to(Path(root).resolve())
    except ValueError:
        raise UnsafeData(f"path {text!r} leaves {root}") from None
    return full


# ---------------------------------------------------------------------------------------------
# Reading with a bound
# ---------------------------------------------------------------------------------------------

def open_regular(path: str | Path) -> tuple[int, os.stat_result]:
    """An fd on ``path`` if it is a regular file. O_NONBLOCK so that opening a FIFO cannot block;
    the type is checked on the opened fd (no race with a file swapped after a stat)."""
    path = Path(path)
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            kind = ("a FIFO" if stat.S_ISFIFO(st.st_mode) else "a directory" if stat.S_ISDIR(st.st_mode)
                    else "a device" if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode)
                    else "a socket" if stat.S_ISSOCK(st.st_mode) else "not a regular file")
            raise UnsafeData(f"{path} is {kind}, not a regular file")
        os.set_blocking(fd, True)
        return fd, st
    except BaseException:
        os.close(fd)
        raise


def read_limited(path: str | Path, limit: int) -> bytes:
    """The bytes of regular file ``path``, at most ``limit`` of them; UnsafeData if it is not a
    regular file or is larger (by its size, or by what it grew to while being read). OSError
    for a file that cannot be opened."""
    path = Path(path)
    fd, st = open_regular(path)
    try:
        if st.st_size > limit:
            raise UnsafeData(f"{path} is {st.st_size:,} bytes, over the limit of {limit:,}")
        chunks, total = [], 0
        while True:
            chunk = os.read(fd, min(1 << 20, limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if total > limit:
                raise UnsafeData(f"{path} grew past the limit of {limit:,} bytes while being read")
        return b"".join(chunks)
    finally:
        os.close(fd)


def sniff(path: str | Path, n: int = 16) -> tuple[bytes, int]:
    """(the first ``n`` bytes, the size) of regular file ``path``, without reading the rest."""
    fd, st = open_regular(Path(path))
    try:
        return os.read(fd, n), st.st_size
    finally:
        os.close(fd)


def sha256_file(path: str | Path) -> str:
    """Hex SHA-256 of regular file ``path``, read in 1 MiB chunks (memory bounded whatever its
    size); UnsafeData if it is not a regular file."""
    import hashlib

    fd, _ = open_regular(Path(path))
    h = hashlib.sha256()
    try:
        for chunk in iter(lambda: os.read(fd, 1 << 20), b""):
            h.update(chunk)
    finally:
        os.close(fd)
    return h.hexdigest()


# ---------------------------------------------------------------------------------------------
# Atomic writes
# ---------------------------------------------------------------------------------------------

def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary sibling and a rename: readers see the old
    file or the whole new one, never a part."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name[:60]}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: str | Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def temp_sibling_dir(path: str | Path, tag: str) -> Path:
    """A new empty directory beside ``path`` (same file system, so it can be renamed onto it)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f".{path.name[:60]}.{tag}-", dir=path.parent))


_RENAME_EXCHANGE = 2  # linux/fs.h


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two directory entries (Linux renameat2 RENAME_EXCHANGE); False where the
    platform or file system does not offer it."""
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name, use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError, TypeError):
        return False
    AT_FDCWD = -100
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    if fn(AT_FDCWD, os.fsencode(a), AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    e = ctypes.get_errno()
    if e in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False
    raise OSError(e, os.strerror(e), str(b))


def replace_dir(new: Path, dest: Path, *, owned: frozenset[str]) -> None:
    """Put directory ``new`` (a complete temporary sibling of ``dest``) in place of ``dest``.

    ``dest`` is swapped in one atomic step where the kernel allows it, else renamed aside first;
    either way it never lacks its old content before the new one is whole. Top-level entries of
    the old ``dest`` whose names are not in ``owned`` (files a user put beside a bundle, say)
    are moved into the new directory rather than deleted; the rest of the old one is removed."""
    new, dest = Path(new), Path(dest)
    if not dest.exists():
        os.replace(new, dest)
        return
    if _exchange(new, dest):
        trash, old = new, new  # the swap left the old content under the temporary name
    else:
        trash = temp_sibling_dir(dest, "old")
        old = trash / "content"
        os.replace(dest, old)
        os.replace(new, dest)
    for entry in list(old.iterdir()):
        if entry.name not in owned and not os.path.lexists(dest / entry.name):
            os.replace(entry, dest / entry.name)
    shutil.rmtree(trash, ignore_errors=True)
