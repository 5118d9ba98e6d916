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

import os
import pickle
import signal
import threading
from collections.abc import Callable
from typing import TypeVar

from graph import memory

T = TypeVar("T")


class ChildFailed(RuntimeError):
    """The child died before it answered (killed, out of memory)."""


def can_fork() -> bool:
    """Whether builds may run in a forked child here: on a system with fork, from a
    process's main thread. A fork copies only the forking thread, and the locks other
    threads held stay held in the child: a program running builds in a thread of its own
    (the tests' embedded Celery worker, the web server's thread pool) builds in place."""
    return hasattr(os, "fork") and threading.current_thread() is threading.main_thread()


def pickled(result: tuple[str, object], caches: dict[str, object] | None) -> bytes:
    """The child's answer: its result, and the kept caches when it changed them. What
    cannot be pickled goes back as a RuntimeError that names it."""
    try:
        return pickle.dumps((result, caches), protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as exc:
        kind, value = result
        what = f"{type(value).__name__}: {value}" if kind == "raised" else repr(exc)
        failed = ("raised", RuntimeError(f"the build's answer could not be sent back: {what}"))
        return pickle.dumps((failed, None), protocol=pickle.HIGHEST_PROTOCOL)


def child(work: Callable[[], object], out: int, before: tuple[int, ...]) -> None:
    result: tuple[str, object]
    try:
        result = ("returned", work())
    except BaseException as exc:  # every failure goes back to the parent, to raise there
        result = ("raised", exc)
    caches = memory.kept_state() if memory.kept_changes() != before else None
    with os.fdopen(out, "wb") as pipe:
        pipe.write(pickled(result, caches))


def run_forked(work: Callable[[], T]) -> T:
    """work() run in a child process forked for it: its result, or its exception raised
    here; the kept caches it filled are this process's afterwards."""
    before = memory.kept_changes()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns, never runs the parent's exit handlers
        code = 0
        try:
            os.close(read)
            child(work, write, before)
        except BaseException:
            code = 1
        finally:
            os._exit(code)
    os.close(write)
    answered = False
    try:
        with os.fdopen(read, "rb") as pipe:
            answer = pipe.read()
        answered = True
    finally:
        # A parent interrupted while it waits (a task's time limit) stops its child.
        if not answered:
            os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    if not answer:
        raise ChildFailed("the build's process ended without an answer")
    (kind, value), caches = pickle.loads(answer)
    del answer
    if caches is not None:
        memory.restore_kept(caches)
    if kind == "raised":
        raise value
    return value  # type: ignore[no-any-return]
