"""Signals held over the few steps where an interrupt would leave something behind.

Real signals, sent by the process to itself at the worst moment; no timing involved: a signal sent to
the own process is pending at once, and runs its handler at the next bytecode unless it is held.
"""

import os
import signal
import tempfile
import threading

import pytest

from tmb_analysis import interrupts


def test_a_held_signal_arrives_when_the_block_ends(ctrl_c):
    steps = []
    with pytest.raises(KeyboardInterrupt):
        with interrupts.held():
            os.kill(os.getpid(), signal.SIGINT)
            steps.append("after the signal")  # not reached without the hold
    assert steps == ["after the signal"]


def test_an_ignored_signal_stays_ignored():
    """Under ``nohup`` or a shell's ``&``, SIGINT comes ignored: held() puts that back and does not turn
    a held Ctrl-C into an interrupt the user had switched off."""
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        steps = []
        with interrupts.held():
            os.kill(os.getpid(), signal.SIGINT)
            steps.append("held")
        steps.append("after the block")
        assert steps == ["held", "after the block"]
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, previous)


def test_sigterm_is_held_too(monkeypatch):
    def stop(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")  # what `tmb build` installs

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        steps = []
        with pytest.raises(KeyboardInterrupt, match="signal 15"):
            with interrupts.held():
                os.kill(os.getpid(), signal.SIGTERM)
                steps.append("after the signal")
        assert steps == ["after the signal"]
    finally:
        signal.signal(signal.SIGTERM, previous)


def test_the_handlers_are_put_back():
    before = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    with interrupts.held():
        assert all(signal.getsignal(s) is not h for s, h in before.items())
    assert {s: signal.getsignal(s) for s in before} == before


def test_held_while_other_threads_run(ctrl_c):
    """The operating system may hand the signal to any thread (a build has pyarrow's and the printer's):
    it is still held."""
    stop = threading.Event()
    others = [threading.Thread(target=stop.wait) for _ in range(4)]
    for t in others:
        t.start()
    try:
        steps = []
        with pytest.raises(KeyboardInterrupt):
            with interrupts.held():
                for _ in range(20):
                    os.kill(os.getpid(), signal.SIGINT)
                    steps.append("after the signal")
        assert len(steps) == 20
    finally:
        stop.set()
        for t in others:
            t.join()


def test_a_signal_with_the_default_action_gets_it_after_the_block(tmp_path):
    """SIGTERM with no handler of Python's: the process ends as it would have, once the block is done."""
    import subprocess
    import sys

    script = (
        "import os, signal, sys\n"
        "from tmb_analysis import interrupts\n"
        "with interrupts.held():\n"
        "    os.kill(os.getpid(), signal.SIGTERM)\n"
        "    print('block finished', flush=True)\n"
        "print('not reached', flush=True)\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert proc.returncode == -signal.SIGTERM
    assert proc.stdout == "block finished\n"


def test_scratch_folder_is_removed_however_the_block_ends(tmp_path):
    with pytest.raises(ValueError):
        with interrupts.scratch_folder(tmp_path, ".site.staging-", 0o755) as folder:
            assert folder.parent == tmp_path and folder.name.startswith(".site.staging-")
            assert folder.stat().st_mode & 0o777 == 0o755
            (folder / "sub").mkdir()
            (folder / "sub" / "page.html").write_text("x")
            raise ValueError("a crash")
    assert list(tmp_path.iterdir()) == []


def test_scratch_folder_that_was_moved_away_is_left_alone(tmp_path):
    with interrupts.scratch_folder(tmp_path, ".staging-") as folder:
        folder.rename(tmp_path / "site")  # published
    assert [p.name for p in tmp_path.iterdir()] == ["site"]


def test_interrupt_right_after_the_folder_is_made(tmp_path, monkeypatch, ctrl_c):
    """The gap between ``mkdir`` and the ``try`` that removes the folder: the CI failure of stop 18
    (``test_stopping_the_nightly_service`` found a ``.site.staging-*`` left behind)."""
    real = tempfile.mkdtemp

    def mkdtemp_then_interrupt(*args, **kw):
        path = real(*args, **kw)
        os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C the moment the folder exists
        return path

    monkeypatch.setattr(tempfile, "mkdtemp", mkdtemp_then_interrupt)
    entered = []
    with pytest.raises(KeyboardInterrupt):
        with interrupts.scratch_folder(tmp_path, ".site.staging-"):
            entered.append(True)
    assert entered == []  # the interrupt came before the block
    assert list(tmp_path.iterdir()) == []
