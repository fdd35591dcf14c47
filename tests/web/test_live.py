"""A stream's subscription: order, waiting, the stuck-reader cap (no Redis needed)."""

from __future__ import annotations

import threading
import time

from web.live import MAX_PENDING, RESYNC, LiveEvent, Subscription


class Hub:
    def __init__(self):
        self.removed = []

    def _remove(self, sub):
        self.removed.append(sub)


def test_events_come_out_in_the_order_offered_then_none_after_the_timeout():
    sub = Subscription(Hub(), "abcdefgh1234")
    for n in range(5):
        sub.offer({"event": "progress", "progress": n})
    assert [sub.get(1.0)["progress"] for _ in range(5)] == [0, 1, 2, 3, 4]
    began = time.monotonic()
    assert sub.get(0.2) is None
    assert time.monotonic() - began >= 0.15


def test_a_waiting_reader_wakes_for_an_offer_from_another_thread():
    sub = Subscription(Hub(), "abcdefgh1234")
    event = LiveEvent({"event": "progress", "progress": 7})
    timer = threading.Timer(0.1, sub.offer, args=(event,))
    timer.start()
    began = time.monotonic()
    assert sub.get(5.0) is event
    assert time.monotonic() - began < 2.0
    timer.join()


def test_a_reader_too_far_behind_is_told_to_reread_instead():
    sub = Subscription(Hub(), "abcdefgh1234")
    for n in range(MAX_PENDING):
        sub.offer({"event": "progress", "progress": n % 100})
    sub.offer({"event": "finished"})  # one past the cap: the backlog is dropped
    assert sub.get(0.0) is RESYNC
    assert sub.get(0.0) is None
    sub.offer({"event": "progress", "progress": 1})  # and it goes on from there
    assert sub.get(0.0) == {"event": "progress", "progress": 1}


def test_close_leaves_the_hub():
    hub = Hub()
    with Subscription(hub, "abcdefgh1234") as sub:
        pass
    assert hub.removed == [sub]


def test_a_live_event_is_its_message_with_an_empty_memo():
    event = LiveEvent({"event": "started"}, record={"job_id": "x"})
    assert event == {"event": "started", "record": {"job_id": "x"}}
    assert event.shared == {}


def test_a_wait_rings_at_its_deadline_even_when_armed_later_first():
    early, late = Subscription(Hub(), "abcdefgh1234"), Subscription(Hub(), "abcdefgh1234")
    began = time.monotonic()
    waiters = [threading.Thread(target=sub.get, args=(wait,))
               for sub, wait in ((late, 0.6), (early, 0.2))]
    for waiter in waiters:
        waiter.start()
        time.sleep(0.02)
    waiters[1].join(5)
    assert 0.15 <= time.monotonic() - began < 0.5  # the sooner alarm was not held up
    waiters[0].join(5)
    assert time.monotonic() - began >= 0.55


def test_an_early_ring_returns_none_and_the_next_wait_waits_again():
    sub = Subscription(Hub(), "abcdefgh1234")
    assert sub.get(0.1) is None
    sub.ring()  # a stale alarm, rung while the stream was busy
    assert sub.get(1.0) is None  # at once: the stream re-checks its clock
    began = time.monotonic()
    assert sub.get(0.2) is None
    assert time.monotonic() - began >= 0.15
