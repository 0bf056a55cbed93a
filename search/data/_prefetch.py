"""Reading ahead: the next items of an iterator are read by a thread while the caller works on the current one.

A training step on a GPU takes a few tens of milliseconds, a feature-extraction step under ten, and reading a batch
of 224 px images from the cache a few milliseconds too: read in the step's own thread, the device would wait for
every read. File reads and image decoding release the GIL, so one reader thread overlaps them with the step.
Memory stays bounded: the thread holds at most ``depth`` items read ahead plus the one it is reading.
"""

from __future__ import annotations

import queue
import threading
from typing import Iterable, Iterator, TypeVar

T = TypeVar("T")

_END = object()
_POLL_SECONDS = 0.1  # how often a reader blocked on a full queue looks whether the caller stopped listening


def prefetched(items: Iterable[T], depth: int) -> Iterator[T]:
    """``items`` in their order, read up to ``depth`` ahead by a daemon thread; depth 0: read here, as they are.

    An error the reader meets is raised here, at the item it would have been. Closing the returned generator (or
    dropping it) stops the reader at its next item. The reader never receives Ctrl-C (only the main thread does);
    the caller waiting here does, as a plain KeyboardInterrupt."""
    if depth <= 0:
        yield from items
        return
    ahead: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()
    reader = threading.Thread(target=_read_into, args=(iter(items), ahead, stop), daemon=True,
                              name="fusion-search-read-ahead")
    reader.start()
    try:
        while True:
            item, error = ahead.get()
            if error is not None:
                raise error
            if item is _END:
                return
            yield item
    finally:
        stop.set()


def _read_into(items: Iterator, ahead: queue.Queue, stop: threading.Event) -> None:
    try:
        for item in items:
            if not _put(ahead, (item, None), stop):
                return
        _put(ahead, (_END, None), stop)
    except Exception as error:  # handed to the caller, raised where the item would have been
        _put(ahead, (None, error), stop)


def _put(ahead: queue.Queue, entry: tuple, stop: threading.Event) -> bool:
    """Put entry once there is room; False when the caller stopped listening first."""
    while not stop.is_set():
        try:
            ahead.put(entry, timeout=_POLL_SECONDS)
            return True
        except queue.Full:
            continue
    return False


__all__ = ["prefetched"]
