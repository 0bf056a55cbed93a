"""prefetched: a reader thread reads a few items ahead of the caller, in order, and stops when the caller does."""

from __future__ import annotations

import signal
import threading
import time

import pytest

from fusion_search.data import prefetched


def _readers() -> set[threading.Thread]:
    """The live reader threads (other tests' streams may still hold theirs: compare with a set taken before)."""
    return {t for t in threading.enumerate() if t.name == "fusion-search-read-ahead"}


def _ended(readers: set[threading.Thread]) -> bool:
    for thread in readers:
        thread.join(timeout=10)
    return not any(thread.is_alive() for thread in readers)


class Counted:
    """Items 0..n-1, counting how many have been read."""

    def __init__(self, n: int):
        self.n, self.read = n, 0

    def __iter__(self):
        for item in range(self.n):
            self.read += 1
            yield item


@pytest.mark.parametrize("depth", [0, 1, 3])
def test_the_items_come_in_their_order_whatever_the_depth(depth):
    assert list(prefetched(iter(range(50)), depth)) == list(range(50))


def test_the_reader_holds_at_most_depth_items_ahead_plus_the_one_it_reads():
    items, earlier = Counted(100), _readers()
    stream = prefetched(items, depth=2)
    assert next(stream) == 0
    time.sleep(0.5)  # time for the reader to run ahead as far as it may (the bound holds however long it gets)
    assert 1 < items.read <= 1 + 2 + 1
    stream.close()
    assert _ended(_readers() - earlier)
    assert items.read <= 1 + 2 + 1 + 1  # it stopped instead of reading on


def test_an_error_of_the_reader_is_raised_at_the_item_it_would_have_been():
    def items():
        yield 0
        yield 1
        raise ValueError("row 2 is unreadable")

    stream = prefetched(items(), depth=3)
    assert [next(stream), next(stream)] == [0, 1]
    with pytest.raises(ValueError, match="row 2 is unreadable"):
        next(stream)


def test_a_dropped_stream_stops_its_reader():
    earlier = _readers()
    stream = prefetched(iter(range(10_000)), depth=2)
    next(stream)
    mine = _readers() - earlier
    assert len(mine) == 1
    del stream
    assert _ended(mine)


def test_ctrl_c_while_waiting_for_a_slow_read_is_a_plain_keyboard_interrupt():
    release = threading.Event()

    def slow():
        release.wait(30)  # a read that is still going when Ctrl-C comes
        yield "late"

    earlier = _readers()
    # Python's own Ctrl-C handler, whatever this process inherited (a shell starts background jobs with SIGINT
    # ignored, and Python then installs none)
    inherited = signal.signal(signal.SIGINT, signal.default_int_handler)
    stream = prefetched(slow(), depth=2)
    timer = threading.Timer(0.3, lambda: signal.pthread_kill(threading.main_thread().ident, signal.SIGINT))
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            next(stream)
    finally:
        mine = _readers() - earlier  # the generator started its reader at next(); it is still reading
        release.set()
        timer.cancel()
        signal.signal(signal.SIGINT, inherited)
    assert len(mine) == 1 and _ended(mine)
