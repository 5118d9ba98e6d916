"""Builds in a forked child process: the process that lives on keeps its caches, never a
build's garbage.

A build allocates hundreds of thousands of small objects (rows, dicts of the traffic map,
the graph, the JSON elements) and frees them at its end; the caches kept across builds
(row plans, layouts) are allocated in between. Python's allocator returns an arena of
memory only when all of it is free, and the kept entries, scattered over most arenas, pin
them: a process that builds keeps about its highest build's memory (at 10,000 workloads
some 900 MB, of which 200 MB alive; bench/README.md "memory"). Emptying every cache does
not give it back either: other long-lived objects made during builds pin the arenas too.

So the build runs in a child forked for it, which sees the parent's caches as they are
(copy-on-write) and exits when done; its memory goes with it. What it returns comes back
pickled through a pipe, and so do the caches it filled (graph/memory.py's kept caches, in
one pickle, only when they changed): unpickled in a parent that does nothing else, their
entries sit together, and the parent's memory is what it keeps.

    result = run_forked(lambda: build_and_publish(scope))
"""

from __future__ import annotations

import ctypes
import logging
import os
import pickle
import signal
import sys
import threading
from collections.abc import Callable
from typing import BinaryIO, TypeVar

from graph import memory

T = TypeVar("T")
log = logging.getLogger(__name__)


class ChildFailed(RuntimeError):
    """The child died before it answered (killed, out of memory)."""


def can_fork() -> bool:
    """Whether builds may run in a forked child here: on a system with fork, from a
    process's main thread. A fork copies only the forking thread, and the locks other
    threads held stay held in the child: a program running builds in a thread of its own
    (the tests' embedded Celery worker, the web server's thread pool) builds in place."""
    return hasattr(os, "fork") and threading.current_thread() is threading.main_thread()


def pickled(result: tuple[str, object]) -> bytes:
    """The child's result; one that cannot be pickled goes back as a RuntimeError that
    names it."""
    try:
        return pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as exc:
        kind, value = result
        what = f"{type(value).__name__}: {value}" if kind == "raised" else repr(exc)
        failed = ("raised", RuntimeError(f"the build's answer could not be sent back: {what}"))
        return pickle.dumps(failed, protocol=pickle.HIGHEST_PROTOCOL)


# Written after the result: the kept caches follow, or none do. Said either way, so that the
# parent need not wait for the pipe's end, which comes only as the child exits.
CACHES = b"C"
NO_CACHES = b"N"


def child(work: Callable[[], object], out: int, before: tuple[int, ...]) -> None:
    result: tuple[str, object]
    try:
        result = ("returned", work())
    except BaseException as exc:  # every failure goes back to the parent, to raise there
        result = ("raised", exc)
    with os.fdopen(out, "wb") as pipe:
        pipe.write(pickled(result))
        if memory.kept_changes() == before:
            pipe.write(NO_CACHES)
            return
        pipe.write(CACHES)
        # Streamed: never all in memory at once here, nor in the parent. Should it fail
        # half-way, the parent reads caches cut short and keeps none.
        pickle.dump(memory.kept_state(), pipe, protocol=pickle.HIGHEST_PROTOCOL)


PR_SET_PDEATHSIG = 1


def die_with(parent: int) -> None:
    """Have this child killed when `parent` dies (Linux). A worker killed mid-build (out of
    memory, SIGKILL) must not leave its build running on: that build would publish a graph
    after the next worker's, and hold its memory meanwhile."""
    if sys.platform != "linux":
        return
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the parent died before the signal was asked for
        os._exit(1)


# Children that answered but had not exited yet: reaped by the next run_forked.
EXITING: list[int] = []


def reap_exited() -> None:
    """Reap the children that answered earlier and have exited since (a child's exit, the
    unmapping of its memory, takes some 30 ms at 1,000 workloads: no answer waits for it)."""
    for pid in list(EXITING):
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:  # reaped by someone else
            done = pid
        if done:
            EXITING.remove(pid)


def run_forked(work: Callable[[], T]) -> T:
    """work() run in a child process forked for it: its result, or its exception raised
    here; the kept caches it filled are this process's afterwards."""
    reap_exited()
    before = memory.kept_changes()
    read, write = os.pipe()
    parent = os.getpid()
    pid = os.fork()
    if pid == 0:  # the child: never returns, never runs the parent's exit handlers
        code = 0
        try:
            os.close(read)
            die_with(parent)
            child(work, write, before)
        except BaseException:
            code = 1
        finally:
            os._exit(code)
    os.close(write)
    answered = False
    try:
        with os.fdopen(read, "rb") as pipe:
            kind, value = answer_from(pipe)
            if pipe.read(1) == CACHES:
                caches_from(pipe)
        answered = True
    finally:
        # A parent interrupted while it waits (a task's time limit) stops its child.
        if not answered:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
    if answered:
        EXITING.append(pid)
        reap_exited()
    if kind == "raised":
        raise value  # type: ignore[misc]
    return value  # type: ignore[return-value]


def answer_from(pipe: BinaryIO) -> tuple[str, object]:
    try:
        return pickle.load(pipe)  # type: ignore[no-any-return]
    except (EOFError, pickle.UnpicklingError) as exc:
        raise ChildFailed("the build's process ended without an answer") from exc


def caches_from(pipe: BinaryIO) -> None:
    """The child's kept caches, in place of this process's: those are dropped first, so
    that both are never held at once (at 10,000 workloads 160 MB each)."""
    memory.drop_kept()
    try:
        memory.restore_kept(pickle.load(pipe))
    except (EOFError, pickle.UnpicklingError) as exc:
        log.warning("the build's caches came cut short (%s): starting from none", exc)
    # The old caches' pages, and the pickle's read buffers, back to the system: glibc keeps
    # them in its heap until asked (at 10,000 workloads about 35 MB, a few ms to give).
    memory.give_back()
