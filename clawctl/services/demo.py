"""`clawctl demo`: every verb, once, on a fleet shipped with clawctl, on this machine; nothing left running.

The steps (each a generator item ``(title, what it shows, result)`` that the CLI renders as it comes):

1. validate the demo fleet (``clawctl/data/demo.yaml``, copied into the demo folder);
2. ``lab up``: its four agents as reference agents on 127.0.0.1, twenty times faster than real time;
3. live traffic (``traffic``) at the lab, and meanwhile one agent made slow, so that
4. a ``top`` snapshot shows its response-time breach and the action the fleet recommends;
5. ``simulate --compare``: every strategy on the same arrivals, with an HTML report;
6. a live failover drill of one agent: sessions moved to its backups, predicted beside measured,
   with a markdown report;
7. ``lab down``, unless ``keep`` (which leaves the lab running to explore after a demo that ran to the
   end). Ctrl-C, SIGTERM or an error at any step stops the lab whatever ``keep`` says: an interrupted
   demo leaves nothing running.

The simulator's kernel compiles on first use (~15 s). A background process compiles it into numba's
cache at the start (``services.warm``), while the lab starts and the traffic runs, so the simulate
step finds it ready. Its output goes to ``warm.log`` in the demo folder, removed when the warm-up
succeeded (or was stopped); it stays only when the warm-up failed, to show why.
"""

from __future__ import annotations

import asyncio
import shutil
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from clawctl.adapters.clock import utc_now
from clawctl.adapters.processes import (
    deferred_signals,
    signals_interrupt,
    spawn,
    state,
    stop_all,
)
from clawctl.core.env import Clock
from clawctl.core.errors import ClawctlError, ExitCode, UsageError

TIME_SCALE = 0.05
SLOW_AGENT = "us_support"
DRILL_AGENT = "eu_sales"


@dataclass
class Step:
    number: int
    title: str
    shows: str
    result: object = None
    seconds: float = 0.0
    extra: list[str] = field(default_factory=list)


class Demo:
    """``with Demo(folder, db) as demo: for step in demo.steps(): ...``; the lab is stopped on leaving."""

    TOTAL = 7

    def __init__(self, folder: str, db: Path | None, *, keep: bool = False, clock: Clock = utc_now) -> None:
        self.folder = Path(folder)
        self.db = db
        self.keep = keep
        self.clock = clock
        self.fleet = self.folder / "fleet.yaml"
        self.lab_up = False
        self.warm = None
        self.started = time.monotonic()

    def __enter__(self) -> Demo:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ClawctlError(f"{self.folder}: cannot create the demo folder ({exc.strerror or exc})",
                               exit_code=ExitCode.UNREADABLE) from None
        if self.fleet.exists() and self.fleet.read_text(encoding="utf-8") != _demo_text():
            raise UsageError(f"{self.fleet}: exists and is not the demo fleet; give another --dir")
        self.fleet.write_text(_demo_text(), encoding="utf-8")
        # compile the simulator in the background while the lab starts and the traffic runs
        try:
            with deferred_signals():
                self.warm = spawn([sys.executable, "-m", "clawctl.services.warm", str(self.fleet)],
                                  self.folder / "warm.log")
        except BaseException:  # Ctrl-C as it started: __exit__ will not run, so stop it here
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, exc_type: object = None, *exc: object) -> None:
        with signals_interrupt():
            if self.warm is not None:
                if state(self.warm.ref) == "running":
                    stop_all({"warm": self.warm.ref}, grace=1.0)
                code = self.warm.exit_code()
                if code is None or code <= 0:  # it succeeded, or we stopped it: its log says nothing of use
                    (self.folder / "warm.log").unlink(missing_ok=True)
            # --keep keeps the lab of a demo that ran to the end; an interrupted (or failed) one stops it
            if self.lab_up and (not self.keep or exc_type is not None):
                from clawctl.services.lab import down

                try:
                    down(self.db, "clawctl-demo", clock=self.clock)
                except UsageError:
                    pass  # interrupted before `lab up` recorded the fleet: it started nothing (or stopped it)
                self.lab_up = False

    def steps(self) -> Iterator[Step]:
        from clawctl.services.validate import validate

        with signals_interrupt():  # SIGTERM or SIGHUP end the demo as Ctrl-C does: the lab is stopped
            yield self._timed(Step(1, "validate", "lint the fleet file, as CI would"),
                              lambda: validate([str(self.fleet)]))
            yield self._timed(Step(2, "lab up", "start the fleet's agents on 127.0.0.1 (reference agents)"),
                              self._lab)
            yield from self._traffic_and_top()
            yield self._timed(Step(5, "simulate --compare", "every strategy on the same arrivals; an HTML report"),
                              self._simulate)
            yield self._timed(Step(6, "failover drill", f"fail {DRILL_AGENT} live: detect it, move its sessions, "
                                                        "restore it; predicted beside measured"), self._drill)

    def _timed(self, step: Step, work) -> Step:
        t = time.monotonic()
        step.result = work()
        step.seconds = time.monotonic() - t
        return step

    def _lab(self):
        from clawctl.services.lab import up

        self.lab_up = True  # set before: a Ctrl-C half-way still stops what started
        return up(str(self.fleet), self.db, time_scale=TIME_SCALE, seed=1, clock=self.clock)

    def _traffic_and_top(self) -> Iterator[Step]:
        from clawctl.services.top import TopOptions, watch
        from clawctl.services.traffic import TrafficOptions, traffic

        box: dict[str, object] = {}

        def send() -> None:
            try:
                box["report"] = traffic(str(self.fleet), TrafficOptions(time_scale=TIME_SCALE, seed=1, store=True),
                                        self.db, clock=self.clock)
            except BaseException as exc:  # noqa: BLE001 - shown after the step, in the main thread
                box["error"] = exc

        t0 = time.monotonic()
        sender = threading.Thread(target=send, name="demo-traffic", daemon=True)
        sender.start()
        time.sleep(2.0)  # conversations under way before the fault and the snapshot
        asyncio.run(self._slow(SLOW_AGENT, 8.0))
        frames = []
        top = Step(4, "top", f"a snapshot of every agent; {SLOW_AGENT} was made slow: its breach and the action")
        t = time.monotonic()
        top.result = watch(str(self.fleet), TopOptions(once=True, record=True, timeout=2.0), self.db, frames.append,
                           clock=self.clock)
        top.seconds = time.monotonic() - t
        sender.join(timeout=60)
        if "error" in box:
            raise box["error"]  # type: ignore[misc]
        yield Step(3, "traffic", "the fleet's traffic sent live, routed by its strategy, measured as simulate "
                                 "measures", box.get("report"), time.monotonic() - t0)
        yield top

    async def _slow(self, agent: str, lease: float) -> None:
        from clawctl.adapters.agent_admin import AgentAdmin
        from clawctl.services.probe import lab_endpoints
        from clawctl.services.validate import load_fleet

        base = lab_endpoints(self.db, load_fleet(str(self.fleet)))[agent]
        async with AgentAdmin() as admin:
            await admin.fault(agent, base, None, "slow", lease=lease, latency=0.5)

    def _simulate(self):
        from clawctl.services.simulate import SimOptions, simulate

        self._wait_warm(30.0)
        report = simulate(str(self.fleet), SimOptions(compare=True, requests=20_000), self.db, clock=self.clock)
        return report

    def _wait_warm(self, limit: float) -> None:
        deadline = time.monotonic() + limit
        while self.warm is not None and state(self.warm.ref) == "running" and time.monotonic() < deadline:
            time.sleep(0.1)

    def _drill(self):
        from clawctl.services.failover_drill import DrillOptions, drill

        return drill(str(self.fleet), DrillOptions(agent=DRILL_AGENT, fault="crash", lease=6.0), self.db,
                     clock=self.clock)

    def stop(self) -> Step:
        step = Step(7, "lab down", "stop every agent the demo started" if not self.keep else
                    "--keep: the lab stays up for you to explore")
        t = time.monotonic()
        if not self.keep and self.lab_up:
            from clawctl.services.lab import down

            step.result = down(self.db, "clawctl-demo", clock=self.clock)
            self.lab_up = False
        step.seconds = time.monotonic() - t
        return step


def _demo_text() -> str:
    return resources.files("clawctl").joinpath("data/demo.yaml").read_text(encoding="utf-8")


def remove_folder(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)
