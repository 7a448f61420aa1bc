"""Wells on a thread pool of this process (numpy, scikit-image and the codecs release the GIL)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

from openhcs_gui.pipeline.executors.base import Executor
from openhcs_gui.pipeline.well import WellReport, WorkUnit

__all__ = ["ThreadExecutor"]


class ThreadExecutor(Executor):
    """A thread pool of ``num_workers`` threads, one well per task.

    Parameters
    ----------
    num_workers
        Wells processed at the same time.
    """

    def __init__(self, num_workers: int) -> None:
        self.num_workers = max(1, int(num_workers))

    def run(self, fn: Callable[[WorkUnit], WellReport], units: Sequence[WorkUnit]) -> Iterator[WellReport]:
        """Docstring inherited."""
        pool = ThreadPoolExecutor(max_workers=self.num_workers, thread_name_prefix="openhcs-well")
        try:
            pending: set[Future[WellReport]] = {pool.submit(fn, u) for u in units}
            while pending:  # a finished future is let go at once: it holds its report
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    yield future.result()
                del done
        finally:  # on a hard stop, wells not started yet must not start (``with`` would run them all)
            pool.shutdown(wait=True, cancel_futures=True)
