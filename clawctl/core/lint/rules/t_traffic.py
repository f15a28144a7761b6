"""T: the traffic the fleet must serve (the mix, what can serve it, how long a run lasts)."""

from __future__ import annotations

import math
from collections.abc import Iterator

from clawctl.core.findings import Finding, Severity
from clawctl.core.lint.catalogue import finding, rule
from clawctl.core.lint.context import LintContext

_SUM_TOLERANCE = 1e-6  # how far from 1 the mix shares may sum (L001 uses the same for scoring weights)


def _eligible(agent, entry) -> bool:
    """Whether ``agent`` can ever serve request type ``entry`` (channel, capabilities, hours)."""
    if entry.channel is not None and entry.channel not in agent.channels:
        return False
    caps = agent.capabilities
    return all(c in caps for c in entry.capabilities) and agent.ever_available()


@rule("T001", "mix-shares", Severity.ERROR, "The traffic mix's shares do not sum to 1.", """
    `traffic.mix` splits arrivals between request types; their `share`s must sum to 1.
""")
def mix_shares(ctx: LintContext) -> Iterator[Finding]:
    traffic = ctx.fleet.traffic
    if traffic is None or not traffic.mix:
        return
    total = math.fsum(entry.share for entry in traffic.mix)
    if not math.isclose(total, 1.0, abs_tol=_SUM_TOLERANCE):
        yield finding("T001", f"mix shares sum to {total:g}, not 1", ctx.fleet.where("traffic"),
                      ("traffic", "mix"), at_key=True)


@rule("T002", "unservable-request", Severity.ERROR, "A request type in the mix that no agent can ever serve.", """
    A request is eligible for an agent that serves its channel, has every capability it needs, and is
    available at some hour of the week (business hours in the agent's own zone). A mix entry no agent
    meets would queue forever or be rejected; the message says which condition failed.
""")
def unservable_request(ctx: LintContext) -> Iterator[Finding]:
    traffic = ctx.fleet.traffic
    if traffic is None or not traffic.mix:
        return
    agents = list(ctx.fleet.agents.values())
    for i, entry in enumerate(traffic.mix):
        if any(_eligible(a, entry) for a in agents):  # stops at the first agent that can serve it
            continue
        by_channel = [a for a in agents if entry.channel is None or entry.channel in a.channels]
        by_caps = [a for a in by_channel if set(entry.capabilities) <= set(a.capabilities)]
        by_hours = [a for a in by_caps if a.ever_available()]
        if by_hours:
            continue
        if not agents:
            why = "the fleet has no agents"
        elif not by_channel:
            why = f"no agent serves channel `{entry.channel}`"
        elif not by_caps:
            caps = ", ".join(f"`{c}`" for c in entry.capabilities)
            why = f"no agent on channel `{entry.channel}` has all of {caps}" if entry.channel \
                else f"no agent has all of {caps}"
        else:
            why = "the agents that could serve it are never available"
        yield finding("T002", f"request type `{entry.name}` can never be served: {why}",
                      ctx.fleet.where("traffic"), ("traffic", "mix", i), at_key=True)


@rule("T003", "unspoken-language", Severity.WARNING, "A request type's language that no eligible agent speaks.", """
    A mix entry with a `language` should be served by agents that list that language. Languages do
    not restrict eligibility, so such requests are served, but not in their language.
""")
def unspoken_language(ctx: LintContext) -> Iterator[Finding]:
    traffic = ctx.fleet.traffic
    if traffic is None or not traffic.mix:
        return
    agents = list(ctx.fleet.agents.values())
    for i, entry in enumerate(traffic.mix):
        if not entry.language:
            continue
        speaks = False
        eligible = False
        for a in agents:
            if _eligible(a, entry):
                eligible = True
                if entry.language in a.languages:
                    speaks = True
                    break
        if eligible and not speaks:  # none eligible: T002 reports it
            yield finding("T003", f"no agent that can serve request type `{entry.name}` speaks `{entry.language}`, "
                          "its language", ctx.fleet.where("traffic"), ("traffic", "mix", i, "language"))


@rule("T004", "run-length", Severity.ERROR, "`traffic` sets both `duration` and `requests`.", """
    One run simulates either a duration or a number of requests; give one.
""")
def run_length(ctx: LintContext) -> Iterator[Finding]:
    traffic = ctx.fleet.traffic
    if traffic is not None and traffic.duration is not None and traffic.requests is not None:
        yield finding("T004", "give `traffic.duration` or `traffic.requests`, not both", ctx.fleet.where("traffic"),
                      ("traffic", "requests"), at_key=True)
