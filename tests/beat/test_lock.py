from __future__ import annotations

import os
import socket

import pytest

from django_redbeat.beat.lock import BeatLock
from django_redbeat.exceptions import LockNotOwned


def test_one_holder_at_a_time(redis_client):
    first = BeatLock(redis_client, "redbeat::lock", 30)
    second = BeatLock(redis_client, "redbeat::lock", 30)

    assert first.acquire()
    assert not second.acquire()
    assert first.owned() and not second.owned()


def test_the_token_names_host_and_process(redis_client):
    lock = BeatLock(redis_client, "redbeat::lock", 30)
    lock.acquire()

    host, pid, _ = redis_client.get("redbeat::lock").split(":")
    assert (host, int(pid)) == (socket.gethostname(), os.getpid())


def test_renewal_sets_the_ttl_back_to_the_full_timeout(redis_client):
    lock = BeatLock(redis_client, "redbeat::lock", 30)
    lock.acquire()
    redis_client.pexpire("redbeat::lock", 1000)  # as if most of the TTL had passed

    assert lock.renew()
    assert 29_000 < redis_client.pttl("redbeat::lock") <= 30_000  # not 31 s: replaced, not added


def test_acquiring_again_while_holding_renews(redis_client):
    lock = BeatLock(redis_client, "redbeat::lock", 30)
    lock.acquire()
    redis_client.pexpire("redbeat::lock", 1000)

    assert lock.acquire()
    assert redis_client.pttl("redbeat::lock") > 29_000


def test_a_lost_lock_cannot_be_renewed_and_can_be_taken_again(redis_client):
    lock = BeatLock(redis_client, "redbeat::lock", 30)
    lock.acquire()
    redis_client.delete("redbeat::lock")  # expired while this holder was away
    other = BeatLock(redis_client, "redbeat::lock", 30)
    other.acquire()

    assert not lock.renew()
    assert not lock.owned()
    other.release()
    assert lock.acquire()


def test_release_frees_the_lock_and_refuses_a_lock_not_held(redis_client):
    lock = BeatLock(redis_client, "redbeat::lock", 30)
    lock.acquire()

    lock.release()

    assert redis_client.exists("redbeat::lock") == 0
    with pytest.raises(LockNotOwned) as caught:
        lock.release()
    assert caught.value.lock_name == "redbeat::lock"


def test_release_wakes_a_standby_at_once(redis_client):
    holder = BeatLock(redis_client, "redbeat::lock", 30)
    standby = BeatLock(redis_client, "redbeat::lock", 30)
    holder.acquire()

    holder.release()

    assert standby.wait_for_release(timeout=5)  # returns on the handover, not the timeout
    assert standby.acquire()


def test_waiting_for_a_release_times_out_while_the_holder_stays(redis_client):
    holder = BeatLock(redis_client, "redbeat::lock", 30)
    holder.acquire()

    assert not BeatLock(redis_client, "redbeat::lock", 30).wait_for_release(timeout=0.1)


def test_waiting_longer_than_the_socket_timeout_does_not_time_out(redis_client, redis_url):
    import redis

    client = redis.Redis.from_url(redis_url, socket_timeout=0.5, decode_responses=True)
    BeatLock(client, "redbeat::lock", 30).acquire()

    assert not BeatLock(client, "redbeat::lock", 30).wait_for_release(timeout=1.2)
