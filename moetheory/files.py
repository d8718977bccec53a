"""Atomic outputs: a file or a whole directory appears complete or not at all.

An interrupted command (Ctrl-C, an error, a killed process) must not leave a report directory
that mixes new files with old ones. ``write_text_atomic`` writes a temporary file next to the
target and renames it over the target (``os.replace``); ``atomic_directory`` yields a temporary
sibling directory to fill and moves it into place only when the block ends without an
exception. Temporary names are hidden siblings, ``.<name>.tmp-<random>``, on the same file
system as the target, so each move is a rename.

Replacing an existing directory. On Linux the two directories are swapped by one
``renameat2(RENAME_EXCHANGE)`` call, so the target path always names a complete directory, old
or new. Where that call is missing (other systems, file systems without it) the old directory
is renamed aside to ``.<name>.old-<random>`` and the new one renamed in: between those two
renames the target is missing, and a process killed right there leaves the old copy (and the
complete new one, ``.<name>.tmp-<random>``) next to it. In both schemes a process killed after
the swap leaves the old copy under a hidden sibling name, and Ctrl-C during the swap and the
clean-ups is held off until they are done (``deferred_interrupt``). Nothing is synced to disk:
the guarantee is against an interrupted or crashed process, not against a power loss.

An existing directory is replaced only when every name in it is also in the new contents, so
nothing but old versions of the same files is ever removed.

Example
-------
>>> import tempfile
>>> root = Path(tempfile.mkdtemp())
>>> with atomic_directory(root / "report") as tmp:
...     _ = (tmp / "summary.md").write_text("pairs: 1\\n")
>>> sorted(p.name for p in root.iterdir()), (root / "report" / "summary.md").read_text()
(['report'], 'pairs: 1\\n')
>>> shutil.rmtree(root)

Reference: POSIX ``rename``; Linux ``renameat2(2)``.
"""

from __future__ import annotations

import ctypes
import errno
import os
import secrets
import shutil
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


def _sibling(path: Path, tag: str) -> Path:
    """A fresh hidden name next to ``path``: ``.<name>.<tag>-<random>``."""
    return path.with_name(f".{path.name}.{tag}-{secrets.token_hex(4)}")


@contextmanager
def deferred_interrupt() -> Iterator[None]:
    """Hold Ctrl-C (SIGINT) off during the block and deliver it when the block ends.

    For steps that must not be cut in half: swapping directories, removing a temporary one,
    stopping worker processes. Outside the main thread nothing changes (Python delivers SIGINT
    to the main thread only).

    >>> try:
    ...     with deferred_interrupt():
    ...         signal.raise_signal(signal.SIGINT)
    ...         finished = True
    ... except KeyboardInterrupt:
    ...     print("interrupted after the block:", finished)
    interrupted after the block: True

    Reference: Python ``signal`` module (handlers run in the main thread).
    """
    previous = signal.getsignal(signal.SIGINT)
    if threading.current_thread() is not threading.main_thread() or previous is None:
        yield
        return
    caught: list[int] = []
    signal.signal(signal.SIGINT, lambda signum, frame: caught.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if caught and callable(previous):
        previous(signal.SIGINT, None)


@contextmanager
def atomic_file(path: str | os.PathLike[str]) -> Iterator[BinaryIO]:
    """A binary handle on a new temporary file beside ``path``; when the block ends the file is
    synced and renamed over ``path`` (readers see the old file or the new one, never a part).
    On any exception, ``KeyboardInterrupt`` included, the temporary file is removed.

    >>> import tempfile
    >>> root = Path(tempfile.mkdtemp())
    >>> with atomic_file(root / "m.bin") as f:
    ...     _ = f.write(b"weights")
    >>> (root / "m.bin").read_bytes(), [p.name for p in root.iterdir()]
    (b'weights', ['m.bin'])
    >>> shutil.rmtree(root)

    Reference: POSIX ``rename`` (atomic replacement of a file).
    """
    target = Path(os.path.realpath(path))
    tmp = _sibling(target, "tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        with deferred_interrupt():
            tmp.unlink(missing_ok=True)
        raise


def write_text_atomic(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` through :func:`atomic_file`.

    >>> import tempfile
    >>> root = Path(tempfile.mkdtemp())
    >>> write_text_atomic(root / "atlas.md", "new\\n").read_text()
    'new\\n'
    >>> [p.name for p in root.iterdir()]
    ['atlas.md']
    >>> shutil.rmtree(root)
    """
    with atomic_file(path) as handle:
        handle.write(text.encode("utf-8"))
    return Path(path)


def check_writable_directory(path: str | os.PathLike[str]) -> None:
    """Raise ``OSError`` unless the directory ``path`` and its parent exist and can be written
    in, or can be created; nothing is created.

    Each one's nearest existing ancestor is tested by creating and removing a probe directory
    there, so the answer holds for any user (permission bits do not bind root).

    >>> import tempfile
    >>> with tempfile.NamedTemporaryFile() as f:
    ...     try:
    ...         check_writable_directory(Path(f.name) / "out")
    ...     except OSError as exc:
    ...         print(exc.strerror)
    cannot create a directory in it: Not a directory

    Reference: POSIX ``mkdir``.
    """
    target = Path(os.path.realpath(path))
    for place in (target.parent, target):
        existing = next(p for p in (place, *place.parents) if p.exists())
        probe = existing / f".moetheory-probe-{secrets.token_hex(4)}"
        try:
            os.mkdir(probe)
        except OSError as exc:
            raise type(exc)(
                exc.errno, f"cannot create a directory in it: {exc.strerror}", str(existing)
            ) from None
        os.rmdir(probe)


def _exchange(a: Path, b: Path) -> bool:
    """Swap the paths ``a`` and ``b`` in one step (Linux ``renameat2``); False where that is
    not available."""
    if not sys.platform.startswith("linux"):
        return False
    renameat2 = getattr(ctypes.CDLL(None, use_errno=True), "renameat2", None)
    if renameat2 is None:
        return False
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False
    raise OSError(code, os.strerror(code), str(a), None, str(b))


def _replace_directory(new: Path, target: Path) -> None:
    """Move the complete directory ``new`` to ``target``, replacing what is there."""
    if not os.path.lexists(target):
        os.rename(new, target)
        return
    extra = sorted(set(os.listdir(target)) - set(os.listdir(new)))
    if extra:
        raise FileExistsError(
            errno.EEXIST,
            "not replaced: it holds "
            f"{', '.join(extra[:3])}{', …' if len(extra) > 3 else ''} "
            "which the new contents do not",
            str(target),
        )
    if _exchange(new, target):  # the old directory is now at ``new``
        shutil.rmtree(new, ignore_errors=True)
        return
    old = _sibling(target, "old")
    os.rename(target, old)  # the window: target missing, the old copy at ``old``
    try:
        os.rename(new, target)
    except BaseException:
        os.rename(old, target)
        raise
    shutil.rmtree(old, ignore_errors=True)


@contextmanager
def atomic_directory(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield an empty temporary sibling of the directory ``path`` (parents created as needed)
    to fill; when the block ends it replaces ``path``. On any exception, ``KeyboardInterrupt``
    included, the temporary directory is removed and ``path`` is left as it was.

    ``path`` may exist only as a directory whose names all reappear in the new contents
    (``FileExistsError`` otherwise, raised at the end; callers that know their file names check
    them first). The module docstring describes the scheme and its one window.

    >>> import tempfile
    >>> root = Path(tempfile.mkdtemp())
    >>> _ = write_text_atomic(root / "a.txt", "old\\n")
    >>> try:
    ...     with atomic_directory(root) as tmp:
    ...         _ = (tmp / "a.txt").write_text("new\\n")
    ...         raise RuntimeError("stopped half-way")
    ... except RuntimeError:
    ...     pass
    >>> (root / "a.txt").read_text(), [p.name for p in root.parent.glob(f".{root.name}.*")]
    ('old\\n', [])
    >>> shutil.rmtree(root)

    Reference: Linux ``renameat2(2)`` (``RENAME_EXCHANGE``); POSIX ``rename``.
    """
    target = Path(os.path.realpath(path))
    if os.path.lexists(target) and not target.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, "not a directory", str(path))
    if target == Path.cwd().resolve() or target in Path.cwd().resolve().parents:
        raise IsADirectoryError(
            errno.EISDIR, "the current directory (or one above it) cannot be replaced", str(path)
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = _sibling(target, "tmp")
    os.mkdir(tmp)
    try:
        yield tmp
        with deferred_interrupt():
            _replace_directory(tmp, target)
    except BaseException:
        with deferred_interrupt():
            shutil.rmtree(tmp, ignore_errors=True)
        raise
