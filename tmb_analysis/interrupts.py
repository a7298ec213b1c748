"""Ctrl-C and ``systemctl stop`` at any moment, and nothing is left behind.

``tmb build`` turns SIGTERM into :class:`KeyboardInterrupt`, so that a stopped run unwinds through the
same ``finally`` blocks as Ctrl-C: it stops its kernels and removes its staging folder. An interrupt can
land between any two bytecodes, though: between the ``mkdir`` of a scratch folder and the ``try`` that
removes it, or between a thread's start and the name the ``finally`` joins it by. :func:`held` closes
those gaps: the signals wait until the block ends, and are handled then.
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
    """Hold SIGINT and SIGTERM for the block; a signal sent meanwhile is handled as the block ends.

    Python runs a signal's handler in the main thread, whichever thread the operating system handed the
    signal to (a process with pyarrow's or plotly's threads has many), so the signals are held where
    Python handles them: for the block, their handlers only record the signal; at the end the handlers
    in place before are put back and called for what came (Ctrl-C then raises ``KeyboardInterrupt`` as
    usual). Outside the main thread this does nothing: only the main thread may set handlers.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    came: list[int] = []

    def record(signum, frame) -> None:
        came.append(signum)

    before = {}
    try:
        for signum in HELD_SIGNALS:
            if signal.getsignal(signum) is not None:  # None: set outside Python, it could not be put back
                before[signum] = signal.signal(signum, record)
        yield
    finally:
        for signum, handler in before.items():
            signal.signal(signum, handler)
        for signum in dict.fromkeys(came):  # once each, in the order they came
            handler = before[signum]
            if callable(handler):
                handler(signum, None)  # default_int_handler raises KeyboardInterrupt; tmb build's too
            elif handler == signal.SIG_DFL:
                signal.raise_signal(signum)  # the default action, now that the default is back


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
