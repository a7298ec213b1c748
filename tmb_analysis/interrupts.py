"""Ctrl-C and ``systemctl stop`` at any moment, and nothing is left behind.

``tmb build`` turns SIGTERM into :class:`KeyboardInterrupt`, so that a stopped run unwinds through the
same ``finally`` blocks as Ctrl-C: it stops its kernels and removes its staging folder. An interrupt can
land between any two bytecodes, though: between the ``mkdir`` of a scratch folder and the ``try`` that
removes it, or between a thread's start and the name the ``finally`` joins it by. :func:`held` closes
those gaps: the signals wait (the kernel keeps them pending) until the block ends, and arrive then.
:func:`scratch_folder` is the one way the package makes a folder it must remove again.
"""

from __future__ import annotations

import shutil
import signal
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["held", "scratch_folder"]

HELD_SIGNALS = frozenset({signal.SIGINT, signal.SIGTERM})


@contextmanager
def held() -> Iterator[None]:
    """Hold SIGINT and SIGTERM in this thread for the block; a signal sent meanwhile arrives as it ends.

    Keep the block short and free of child processes: they would inherit the held signals. Outside the
    main thread, or where the platform cannot hold signals, this does nothing (Python runs signal
    handlers in the main thread only).
    """
    if not hasattr(signal, "pthread_sigmask") or threading.current_thread() is not threading.main_thread():
        yield
        return
    before = signal.pthread_sigmask(signal.SIG_BLOCK, HELD_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, before)  # a held signal's handler runs here


@contextmanager
def scratch_folder(parent: Path, prefix: str, mode: int = 0o700) -> Iterator[Path]:
    """A new folder ``parent/prefix*``, removed on the way out however the block ends (unless the block
    moved it away itself: a published staging folder is the live site)."""
    path = None
    try:
        with held():  # the folder exists only once ``path`` names it
            path = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
        path.chmod(mode)
        yield path
    finally:
        if path is not None and path.exists():
            with held():  # a second Ctrl-C does not leave half a folder
                shutil.rmtree(path, ignore_errors=True)
