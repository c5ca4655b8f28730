"""(method, fold) units of an experiment in several worker processes at once.

Why processes: a BLSTM epoch waits on one time step after another with small matrices, so a
second torch thread gains only 1.3-1.7x, while two single-threaded units on two cores gain
nearly 2x (docs/methods.md, Timing). The Celery workers already run one unit per core; this
gives the command line and the benchmark the same.

Workers are *spawned*, not forked: forking a process whose torch/OpenMP thread pools are running
can hang the child. Each worker receives the dataset and config once (initializer), runs whole
units with :func:`~models_app.ser.folds.run_fold`, and sends its progress events back over a
queue; the parent hands them to the caller's callback, so progress looks as in a serial run.
Results do not depend on how many processes run: every unit seeds its own models.
"""

from __future__ import annotations

import multiprocessing
import queue
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool

from models_app.ser.folds import run_fold
from models_app.ser.progress import ProgressCallback, ProgressEvent, ignore_progress

POLL_SECONDS = 0.2  # how often the parent forwards progress while it waits for units

# Set in each worker process by _start_worker (module globals are per process).
_worker_state: dict = {}


def _start_worker(dataset, config, events) -> None:
    _worker_state.update(dataset=dataset, config=config, events=events)


def _run_unit(method: str, fold):
    events = _worker_state["events"]
    return run_fold(method, _worker_state["config"], _worker_state["dataset"], fold, progress=events.put)


def run_units_in_processes(
    units: Sequence[tuple[str, object]],
    dataset,
    config,
    n_jobs: int,
    progress: ProgressCallback | None = None,
) -> list:
    """Run ``run_fold(method, config, dataset, fold)`` for every (method, fold) unit in ``n_jobs``
    spawned processes; returns the FoldResults in the order of ``units``.

    The first unit that fails stops the rest (queued units are cancelled) and its exception is
    raised here; a worker that dies (killed, out of memory) raises RuntimeError saying so.
    """
    if n_jobs < 1:
        raise ValueError("n_jobs must be at least 1")
    progress = progress or ignore_progress
    context = multiprocessing.get_context("spawn")
    events = context.Queue()
    executor = ProcessPoolExecutor(
        max_workers=min(n_jobs, len(units)) or 1,
        mp_context=context,
        initializer=_start_worker,
        initargs=(dataset, config, events),
    )
    finished = False
    try:
        futures = [executor.submit(_run_unit, method, fold) for method, fold in units]
        _wait_forwarding_progress(futures, events, progress)
        try:
            results = [future.result() for future in futures]
        except BrokenProcessPool as exc:
            raise RuntimeError(f"a worker process died before its unit finished ({exc})") from exc
        finished = True
        return results
    finally:
        if not finished:
            # A unit failed or the caller was interrupted: the other running units are doomed, and
            # waiting for them could block on a full progress queue that nobody reads any more.
            _terminate_workers(executor)
        executor.shutdown(wait=True, cancel_futures=True)
        _forward_pending(events, progress)
        events.close()


def _wait_forwarding_progress(futures: list[Future], events, progress: Callable[[ProgressEvent], None]) -> None:
    pending = set(futures)
    while pending:
        _forward_pending(events, progress)
        done, pending = wait(pending, timeout=POLL_SECONDS, return_when=FIRST_EXCEPTION)
        if any(future.exception() is not None for future in done):
            for future in pending:
                future.cancel()
            return


def _terminate_workers(executor: ProcessPoolExecutor) -> None:
    # ProcessPoolExecutor has no public way to stop running work; its process table is stable
    # since Python 3.8 and empty or missing at worst, which leaves shutdown to wait.
    for process in list(getattr(executor, "_processes", {}).values()):
        process.terminate()


def _forward_pending(events, progress: Callable[[ProgressEvent], None]) -> None:
    while True:
        try:
            event = events.get_nowait()
        except (queue.Empty, OSError, ValueError):  # nothing left, or the queue is already closed
            return
        progress(event)
