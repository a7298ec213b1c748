"""Signals held over the few steps where an interrupt would leave something behind.

Real signals, sent by the process to itself at the worst moment; no timing involved: a signal sent to
the own process is pending at once, and runs its handler at the next bytecode unless it is held.
"""

import os
import signal
import tempfile

import pytest

from tmb_analysis import interrupts


def test_a_held_signal_arrives_when_the_block_ends():
    steps = []
    with pytest.raises(KeyboardInterrupt):
        with interrupts.held():
            os.kill(os.getpid(), signal.SIGINT)
            steps.append("after the signal")  # not reached without the hold
    assert steps == ["after the signal"]


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


def test_the_mask_is_restored():
    before = signal.pthread_sigmask(signal.SIG_BLOCK, set())
    with interrupts.held():
        assert {signal.SIGINT, signal.SIGTERM} <= signal.pthread_sigmask(signal.SIG_BLOCK, set())
    assert signal.pthread_sigmask(signal.SIG_BLOCK, set()) == before


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


def test_interrupt_right_after_the_folder_is_made(tmp_path, monkeypatch):
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
