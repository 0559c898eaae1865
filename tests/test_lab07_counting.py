"""Lab 07's counting server (exercise 7.7) sees a concurrent client as concurrent however busy the
machine, and does not hold a client that sends one request at a time for long."""
import asyncio
import time

import aiohttp

from coursekit.labs.lab07 import OVERLAP_SECONDS, CountingServer


async def two_requests(base_url, gap):
    """Two requests at once, the second sent `gap` seconds after the first (a descheduled client)."""
    async with aiohttp.ClientSession(base_url) as session:
        async def get(n, after):
            await asyncio.sleep(after)
            async with session.get(f"/pages/{n}") as response:
                return await response.json()
        return await asyncio.gather(get(1, 0), get(2, gap))


def test_a_late_second_request_still_overlaps_the_first():
    with CountingServer() as counter:
        pages = asyncio.run(two_requests(counter.url, gap=0.5))  # longer than the 0.2 s answers
    assert pages == [{"page": "1"}, {"page": "2"}]
    assert counter.most == 2


async def one_at_a_time(base_url, count):
    async with aiohttp.ClientSession(base_url) as session:
        for n in range(count):
            async with session.get(f"/pages/{n}") as response:
                await response.json()


def test_a_client_that_sends_one_at_a_time_is_held_only_once():
    with CountingServer() as counter:
        started = time.monotonic()
        asyncio.run(one_at_a_time(counter.url, 24))
        took = time.monotonic() - started
    assert counter.most == 1
    assert OVERLAP_SECONDS <= took < OVERLAP_SECONDS + 5, f"{took:.1f} s for 24 requests"
