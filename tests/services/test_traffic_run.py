"""The live run's routing and queues, step by step, with an in-process client whose conversations end when
the test says (fast and exact; the same code runs against real agents in test_traffic.py)."""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass

import pytest

from clawctl.adapters.agent_client import Reply
from clawctl.core.sim import layout as L
from clawctl.core.sim.spec import build
from clawctl.core.traffic.waiting import Request
from clawctl.services.traffic_run import LiveRun
from clawctl.services.validate import load_fleet


@dataclass
class Target:
    base: str
    token: str | None = None


class Client:
    """``converse`` waits until the test ends that conversation with ``end(agent, kind)``."""

    def __init__(self) -> None:
        self.open: list[tuple[str, dict, asyncio.Future]] = []

    async def converse(self, base: str, token: str | None, body: dict) -> Reply:
        fut = asyncio.get_running_loop().create_future()
        self.open.append((base, body, fut))
        return await fut

    def on(self, agent: str) -> list[dict]:
        return [body for base, body, fut in self.open if base == agent and not fut.done()]

    def end(self, agent: str, kind: str = "ok", n: int = 1) -> None:
        for base, _, fut in self.open:
            if n and base == agent and not fut.done():
                fut.set_result(Reply(kind))
                n -= 1
        assert n == 0, f"{agent} had fewer conversations open"


def fleet(tmp_path, *, strategy="least_conn", cap=1, queue="{capacity: 10}", mix="", extra=""):
    text = ("apiVersion: clawctl/v1\nkind: Fleet\nmetadata: {name: run-tests}\n"
            f"load_balancing: {{strategy: {strategy}, passive: {{max_fails: 2, fail_timeout: 60s}}}}\n"
            f"traffic:\n  arrivals: {{rate: 1/s}}\n  queue: {queue}\n{mix}"
            "agents:\n")
    for name in "abc":
        text += (f"  {name}:\n    availability: 24/7\n    channels: [email, sms]\n"
                 f"    max_concurrent_conversations: {cap}\n{extra}")
    path = tmp_path / "fleet.yaml"
    path.write_text(text)
    f = load_fleet(str(path))
    return f, build(f, horizon=3600.0)


def live(tmp_path, **kw):
    f, spec = fleet(tmp_path, **kw)
    client = Client()
    run = LiveRun(spec, f.load_balancing.strategy, f, [Target(x) for x in "abc"], client, 1.0)
    run.start = asyncio.get_running_loop().time()
    return run, client


def req(n: int, k: int = 0, customer: int = -1, t: float = 0.0, patience: float = math.inf) -> Request:
    return Request(n, t, k, customer, 0.5, 0.5, patience)


async def settle():
    for _ in range(5):
        await asyncio.sleep(0)


def identity(run: LiveRun) -> None:
    c = run.counts
    assert c["arrived"] == c["served"] + c["rejected"] + c["abandoned"] + c["lost"] + run.in_flight


def test_a_request_waits_only_when_every_eligible_agent_is_full_and_the_freed_slot_takes_it(tmp_path):
    async def main():
        run, client = live(tmp_path)
        for n in range(3):
            run.arrive(req(n))
            await settle()
            assert len(run.waiting) == 0  # a free slot somewhere: never queued
        assert [len(client.on(x)) for x in "abc"] == [1, 1, 1]
        run.arrive(req(3))
        await settle()
        assert len(run.waiting) == 1
        client.end("b")
        await settle()
        assert len(run.waiting) == 0 and [len(client.on(x)) for x in "abc"] == [1, 1, 1]
        assert client.on("b")[0]["customer_id"] == "r3"
        identity(run)
        assert run.counts["served"] == 1 and run.waited == 0  # r3 is still in conversation

    asyncio.run(main())


MIX = ("  mix:\n    - {name: low, share: 0.5, channel: email, priority: low}\n"
       "    - {name: high, share: 0.5, channel: sms, priority: high}\n")


@pytest.mark.parametrize("strategy, first", [("priority_weighted", "r2"), ("least_conn", "r1")])
def test_the_central_queue_serves_priority_first_only_under_the_priority_strategy(tmp_path, strategy, first):
    async def main():
        run, client = live(tmp_path, strategy=strategy, mix=MIX)
        low, high = run.spec.type_names.index("low"), run.spec.type_names.index("high")
        for n in range(3):
            run.arrive(req(10 + n, low))
        await settle()
        run.arrive(req(1, low, t=0.1))
        run.arrive(req(2, high, t=0.2))
        await settle()
        assert len(run.waiting) == 2
        client.end("a")
        await settle()
        assert client.on("a")[0]["customer_id"] == first

    asyncio.run(main())


def test_a_queued_request_goes_only_to_an_agent_it_is_eligible_for(tmp_path):
    mix = "  mix:\n    - {name: mail, share: 1.0, channel: email}\n"

    async def main():
        f, spec = fleet(tmp_path, mix=mix)
        spec.elig[0, 1] = False  # b does not serve mail
        client = Client()
        run = LiveRun(spec, "least_conn", f, [Target(x) for x in "abc"], client, 1.0)
        run.start = asyncio.get_running_loop().time()
        for n in range(3):
            run.arrive(req(n))
        await settle()
        assert [len(client.on(x)) for x in "abc"] == [1, 0, 1] and len(run.waiting) == 1
        assert run.router.can_take(1)  # b is free but not eligible: the request waits
        client.end("c")
        await settle()
        assert len(run.waiting) == 0 and client.on("c")[0]["customer_id"] == "r2"

    asyncio.run(main())


def test_per_agent_queues_wait_at_the_picked_agent_and_reject_past_its_capacity(tmp_path):
    async def main():
        run, client = live(tmp_path, strategy="round_robin", queue="{discipline: per_agent, capacity: 1}")
        for n in range(7):
            run.arrive(req(n))
        await settle()
        # round robin a b c a b c a: three start, three wait one at each agent, the seventh finds a's queue full
        assert [len(client.on(x)) for x in "abc"] == [1, 1, 1]
        assert [run.waiting.at(i) for i in range(3)] == [1, 1, 1] and run.counts["rejected"] == 1
        client.end("b")
        await settle()
        assert client.on("b")[0]["customer_id"] == "r4"  # b's own queue, not a's older r3
        assert [run.waiting.at(i) for i in range(3)] == [1, 0, 1]
        identity(run)

    asyncio.run(main())


def test_an_agent_taken_out_hands_its_own_queue_back_to_the_balancer(tmp_path):
    async def main():
        run, client = live(tmp_path, strategy="round_robin", cap=2, queue="{discipline: per_agent, capacity: 5}")
        for n in range(12):  # round robin: two start at each agent, two wait at each (a: r0 r3, then r6 r9)
            run.arrive(req(n))
        await settle()
        assert [run.waiting.at(i) for i in range(3)] == [2, 2, 2]
        # max_fails 2. The first failure frees a slot, which takes r6; the second takes a out, and r9,
        # still waiting at a, goes back through the balancer with the two failed requests
        client.end("a", "503", n=2)
        await settle()
        assert run.router.is_out(0) and run.waiting.at(0) == 0
        assert run.errors["503"] == 2 and run.retried == 2  # moved from a queue is not a retry, as in simulate
        assert [b["customer_id"] for b in client.on("a")] == ["r6"]  # still in conversation there
        assert run.waiting.at(1) + run.waiting.at(2) == 4 + 3
        assert run.router.ag[0, L.A_LOAD] == 1  # a's one conversation, nothing queued at it
        identity(run)

    asyncio.run(main())


def test_a_failed_attempt_is_retried_on_another_agent_then_lost(tmp_path):
    async def main():
        run, client = live(tmp_path, cap=1, queue="{capacity: 0}")
        run.arrive(req(0))
        await settle()
        (first,) = [x for x in "abc" if client.on(x)]
        client.end(first, "429")
        await settle()
        (second,) = [x for x in "abc" if client.on(x)]
        assert second != first and run.retried == 1
        client.end(second, "timeout")
        await settle()
        (third,) = [x for x in "abc" if client.on(x)]
        assert third not in (first, second)
        client.end(third, "refused")
        await settle()
        assert run.counts["lost"] == 1 and run.retried == 2 and run.in_flight == 0
        identity(run)

    asyncio.run(main())


def test_a_repeat_customer_goes_back_to_the_agent_holding_the_session(tmp_path):
    async def main():
        run, client = live(tmp_path, strategy="round_robin", cap=4, mix="  customers: 10\n")
        run.arrive(req(0, customer=7))
        await settle()
        (holder,) = [x for x in "abc" if client.on(x)]
        client.end(holder)
        await settle()
        for n in range(1, 4):  # round robin would spread these; the session keeps them on one agent
            run.arrive(req(n, customer=7))
        await settle()
        assert len(client.on(holder)) == 3

    asyncio.run(main())


def test_patience_abandons_the_oldest_first(tmp_path):
    async def main():
        run, _ = live(tmp_path, queue="{capacity: 10, patience: 2s}")
        for n in range(3):
            run.arrive(req(n, patience=2.0))
        run.arrive(req(3, t=0.0, patience=2.0))
        run.arrive(req(4, t=1.5, patience=2.0))
        await settle()
        run._expire(2.5)
        assert run.counts["abandoned"] == 1 and len(run.waiting) == 1
        identity(run)

    asyncio.run(main())


def test_drawn_patience_leaves_by_each_requests_own_deadline(tmp_path):
    """With patience drawn per request, a later arrival with little patience leaves before an earlier
    one with more; the one left waiting is still served when a slot frees."""
    async def main():
        run, client = live(tmp_path, queue="{capacity: 10, patience: {distribution: exponential, mean: 2s}}")
        for n in range(3):
            run.arrive(req(n, patience=60.0))
        run.arrive(req(3, t=0.0, patience=5.0))  # waits first, patient
        run.arrive(req(4, t=1.0, patience=0.5))  # waits second, leaves first
        await settle()
        run._expire(1.6)
        assert run.counts["abandoned"] == 1 and len(run.waiting) == 1
        assert [r.n for q in run.waiting.queues for r in q] == [3]
        identity(run)
        client.end("a")  # a slot frees: the patient one is sent
        await settle()
        assert len(run.waiting) == 0 and run.counts["abandoned"] == 1
        identity(run)

    asyncio.run(main())


def test_live_requests_carry_the_simulations_drawn_patience(tmp_path):
    """`traffic` sends the simulator's requests (same seed): each with the patience the simulation drew."""
    from clawctl.core.sim.engine import RunLength, arrival_blocks
    from clawctl.services.traffic import _arrive

    f, spec = fleet(tmp_path, queue="{capacity: 10, patience: {distribution: lognormal, mean: 3s, sigma: 0.8}}")
    seen: list[Request] = []

    class Capture:
        start = 0.0
        scale = 0.0  # every arrival is due at once

        def arrive(self, r: Request) -> None:
            seen.append(r)

    async def main():
        Capture.start = asyncio.get_running_loop().time()
        await _arrive(Capture(), spec, 11, RunLength(requests=40), None)

    asyncio.run(main())
    drawn = [float(p) for b in arrival_blocks(spec, RunLength(requests=40), 11) for p in b.pat]
    assert [r.patience for r in seen] == drawn and len(set(drawn)) == 40
    assert 1.0 < sum(drawn) / 40 < 6.0  # lognormal, mean 3 s
