"""Generate a realistic, clean N-agent fleet file (deterministic for a seed).

    python bench/gen_fleet.py 10000 > fleet.yaml      # ~4.5 MB, the speed benchmark's input
    python bench/gen_fleet.py 200 --seed 7 > small.yaml

or, as a module: ``generate(n, seed) -> str``.

The fleet is built to be *clean*: ``clawctl validate`` reports no error, warning or info on it, and
``check-jsonschema --schemafile <(clawctl schema)`` accepts it. How it stays clean:

- Agents come in *teams*: 3 to 5 agents, one per region, sharing one profile (domain, capabilities,
  channels, isolation level, data classes). Each agent's two backups are team mates in other regions,
  so together they cover its capabilities and channels (B004, B005) from another region (B006).
- ``isolation`` names a level of ``session_isolation`` (defined at the top of the file) and
  ``data_access`` only lists data classes that level allows (I001, I002). Levels are ordered
  strictest first with non-increasing encryption (I004).
- ``business_hours.timezone`` is the agent's own ``timezone`` (A005); every window opens (A006).
- Every time is quoted (``"09:00"``) so YAML 1.1 readers (PyYAML) read the same strings (Y003).
- Scoring weights and traffic-mix shares sum to 1 (L001, T001); each mix entry is drawn from an
  existing team, so some agent serves its channel and capabilities and speaks its language (T002, T003).

Only the standard library is used, so the generator runs anywhere.
"""

from __future__ import annotations

import argparse
import random
import sys

# region -> (short code for ids, time zones, languages spoken there, recovery site)
REGIONS: dict[str, tuple[str, tuple[str, ...], tuple[str, ...], str]] = {
    "us-east": ("use", ("America/New_York", "America/Toronto", "America/Detroit"),
                ("english", "spanish", "french"), "us-west"),
    "us-west": ("usw", ("America/Los_Angeles", "America/Vancouver", "America/Phoenix"),
                ("english", "spanish", "mandarin"), "us-east"),
    "europe": ("eu", ("Europe/London", "Europe/Berlin", "Europe/Paris", "Europe/Madrid", "Europe/Dublin"),
               ("english", "french", "german", "spanish", "italian"), "us-east"),
    "asia_pacific": ("ap", ("Asia/Singapore", "Asia/Tokyo", "Asia/Shanghai", "Australia/Sydney"),
                     ("english", "mandarin", "japanese", "malay"), "europe"),
    "latam": ("la", ("America/Sao_Paulo", "America/Mexico_City", "America/Bogota"),
              ("spanish", "portuguese", "english"), "us-east"),
}
REGION_NAMES = tuple(REGIONS)

# Strictest first; encryption never gets stronger further down (I004).
SECURITY_LEVELS = (
    ("critical", "AES-256-GCM", "hardware_enforced", True, "comprehensive",
     ("payment_cards", "bank_accounts", "invoices", "tax_records")),
    ("business_sensitive", "AES-256", "process_level", True, "standard",
     ("crm", "customer_pii", "contracts", "order_history")),
    ("operational", "AES-128", "container_level", False, "basic",
     ("knowledge_base", "tickets", "product_catalog", "scheduling")),
)
LEVEL_CLASSES = {name: classes for name, _, _, _, _, classes in SECURITY_LEVELS}

# domain -> (short code for ids, capability pool, channel pool, isolation level, weight in the fleet)
DOMAINS: dict[str, tuple[str, tuple[str, ...], tuple[str, ...], str, int]] = {
    "sales": ("sal", ("lead_qualification", "product_recommendations", "pricing_inquiries",
                        "demo_scheduling", "quote_generation", "upselling"),
              ("whatsapp", "telegram", "line", "website_chat", "email", "slack"), "business_sensitive", 3),
    "customer_support": ("sup", ("technical_troubleshooting", "ticket_creation", "knowledge_base_access",
                                     "escalation_handling", "order_tracking", "returns_processing"),
                         ("whatsapp", "telegram", "wechat", "line", "slack", "msteams", "email",
                          "website_chat", "sms", "discord"), "operational", 4),
    "billing": ("bil", ("invoice_generation", "payment_processing", "subscription_management",
                            "refund_handling", "dunning"),
                ("email", "website_chat", "voice", "sms"), "critical", 2),
    "onboarding": ("onb", ("account_setup", "identity_verification", "product_walkthrough",
                               "appointment_booking"),
                   ("email", "website_chat", "whatsapp", "msteams", "voice"), "business_sensitive", 1),
    "scheduling": ("sch", ("appointment_booking", "calendar_management", "reminder_sending"),
                   ("sms", "email", "whatsapp", "voice", "googlechat"), "operational", 1),
}
DOMAIN_NAMES = tuple(DOMAINS)
DOMAIN_WEIGHTS = tuple(d[4] for d in DOMAINS.values())

# (schedule form, probability); every window opens, one crosses midnight.
SCHEDULES = (
    '"9AM-6PM weekdays"', '"09:00-17:30 Mon-Fri"', '"8AM-8PM weekdays"', '"07:00-19:00 Mon-Sat"',
    '"10:00-18:00 daily"', '"22:00-06:00 Mon-Fri"', '"9AM-1PM weekends"', '"08:30-17:00 Mon,Tue,Wed,Thu,Fri"',
)
MIX_PRIORITIES = ("normal", "normal", "normal", "high", "low")
BASE_PORT = 20000


def _team_sizes(n: int, rng: random.Random) -> list[int]:
    """Split ``n`` agents into teams of 3 to 5 (one agent per region); fewer than 3 make one team."""
    sizes: list[int] = []
    left = n
    while left > 0:
        if left <= len(REGION_NAMES):
            size = left
        else:
            size = rng.choice((3, 3, 3, 4, 5))
            if left - size < 3:  # never leave a team too small to back itself up
                size = 3
        sizes.append(size)
        left -= size
    return sizes


def _flow(items: list[str] | tuple[str, ...]) -> str:
    return "[" + ", ".join(items) + "]"


class _Team:
    __slots__ = ("capabilities", "channels", "data_access", "domain", "ids", "index", "isolation", "languages",
                 "regions")

    def __init__(self, index: int, size: int, rng: random.Random) -> None:
        self.index = index
        self.domain = rng.choices(DOMAIN_NAMES, weights=DOMAIN_WEIGHTS)[0]
        _, caps, channels, level, _ = DOMAINS[self.domain]
        self.capabilities = rng.sample(caps, rng.randint(2, 3))
        self.channels = rng.sample(channels, rng.randint(2, 3))
        self.isolation = level
        classes = LEVEL_CLASSES[level]
        self.data_access = rng.sample(classes, rng.randint(1, 2))
        self.regions = rng.sample(REGION_NAMES, size)
        code = DOMAINS[self.domain][0]
        self.ids = [f"{code}-{REGIONS[r][0]}-{index:04d}" for r in self.regions]
        self.languages: list[list[str]] = []


def _agent_yaml(team: _Team, k: int, port: int, rng: random.Random, out: list[str]) -> None:
    region = team.regions[k]
    _, zones, spoken, _ = REGIONS[region]
    tz = rng.choice(zones)
    langs = rng.sample(spoken, rng.randint(1, 2))
    if "english" not in langs and rng.random() < 0.5:
        langs.append("english")
    team.languages.append(langs)
    size = len(team.ids)
    backups = [team.ids[(k + 1) % size], team.ids[(k + 2) % size]] if size >= 3 else \
        [team.ids[j] for j in range(size) if j != k]
    out.append(f"  {team.ids[k]}:\n")
    if rng.random() < 0.2:  # the rest inherit `type: specialized` from `defaults`
        out.append("    type: general\n")
    out.append(f"    domain: {team.domain}\n")
    out.append(f"    region: {region}\n")
    out.append(f"    capabilities: {_flow(team.capabilities)}\n")
    out.append(f"    channels: {_flow(team.channels)}\n")
    out.append(f"    languages: {_flow(langs)}\n")
    out.append(f"    timezone: {tz}\n")
    if rng.random() < 0.4:
        out.append("    availability: 24/7\n")
    else:
        out.append(f"    business_hours:\n      timezone: {tz}\n      schedule: {rng.choice(SCHEDULES)}\n")
    if rng.random() < 0.5:  # the rest inherit `max_concurrent_conversations: 30` and `weight: 1`
        out.append(f"    max_concurrent_conversations: {rng.choice((10, 15, 20, 25, 40, 50, 60, 80, 100))}\n")
    if rng.random() < 0.5:
        out.append(f"    weight: {rng.choice((2, 2, 3, 4))}\n")
    out.append(f"    endpoint: http://127.0.0.1:{port}\n")
    out.append(f"    isolation: {team.isolation}\n")
    out.append(f"    data_access: {_flow(team.data_access)}\n")
    if backups:
        out.append(f"    backups: {_flow(backups)}\n")


def _header(n: int, seed: int) -> list[str]:
    out = [
        f"# A generated fleet of {n} agents (bench/gen_fleet.py, seed {seed}). Clean by construction:\n",
        "# `clawctl validate` reports nothing on it. Every time is quoted for YAML 1.1 readers.\n",
        "apiVersion: clawctl/v1\n",
        "kind: Fleet\n",
        "metadata:\n",
        f"  name: bench-fleet-{n}\n",
        "  owner: platform-ops@example.com\n",
        "  labels:\n",
        "    environment: benchmark\n",
        '    cost-center: "4410"\n',
        "\n",
        "# Strictest first; each level lists the only data classes its agents may read.\n",
        "session_isolation:\n",
        "  security_levels:\n",
    ]
    for name, enc, mem, seg, audit, classes in SECURITY_LEVELS:
        out += [
            f"    - level: {name}\n",
            f"      encryption: {enc}\n",
            f"      memory_isolation: {mem}\n",
            f"      network_segmentation: {'true' if seg else 'false'}\n",
            f"      audit_logging: {audit}\n",
            f"      data_classes: {_flow(classes)}\n",
        ]
    out += [
        "\n",
        "defaults:\n",
        "  type: specialized\n",
        "  max_concurrent_conversations: 30\n",
        "  weight: 1\n",
        "  endpoint_kind: clawctl\n",
        "  auth:\n",
        "    token_env: CLAWCTL_AGENT_TOKEN\n",
        "  service_time:\n",
        "    distribution: lognormal\n",
        "    mean: 90s\n",
        "    p95: 240s\n",
        "\n",
        "agents:\n",
    ]
    return out


def _footer(teams: list[_Team], rng: random.Random) -> list[str]:
    out = [
        "\n",
        "load_balancing:\n",
        "  strategy: least_conn\n",
        "  scoring:\n",
        "    capability: 0.4\n",
        "    performance: 0.3\n",
        "    load: 0.2\n",
        "    customer_history: 0.1\n",
        "  health:\n",
        "    probe_interval: 5s\n",
        "    timeout: 1s\n",
        "    failure_threshold: 3\n",
        "    recovery_threshold: 2\n",
        "  passive:\n",
        "    max_fails: 3\n",
        "    fail_timeout: 30s\n",
        "\n",
        "load_balancing_strategy:\n",
        "  algorithms:\n",
        "    - name: real_time_optimization\n",
        "      triggers: [queue_depth_high, response_time_degraded]\n",
        "      implementation: scored routing on capability, performance, load and customer history\n",
        "    - name: priority_weighted\n",
        "      triggers: [vip_customer, escalation]\n",
        "      implementation: high before normal before low, least connections within a priority\n",
        "\n",
        "monitoring:\n",
        "  interval: 2s\n",
        "  breach_after: 3\n",
        "  thresholds:\n",
        "    response_time: 2000ms\n",
        "    cpu: 80\n",
        "    memory: 85\n",
        "    error_rate: 5\n",
        "\n",
        "failover:\n",
        "  objectives:\n",
        "    detection: 30s\n",
        "    agent_recovery: 2m\n",
        "    regional_recovery: 5m\n",
        "    session_preservation: 99.95%\n",
        "  regions:\n",
    ]
    out += [f"    {name}: {{recovery_site: {site}}}\n" for name, (_, _, _, site) in REGIONS.items()]
    out += [
        "  max_blast_radius: 25%\n",
        "  session_ttl: 24h\n",
        "\n",
        "traffic:\n",
        "  arrivals:\n",
        "    rate: 600/min\n",
        "    process: poisson\n",
        "    profile: diurnal\n",
        "    peak_multiplier: 1.8\n",
        "    peak_at: 15\n",
    ]
    out += _mix(teams, rng)
    out += [
        "  customers: 50000\n",
        "  queue:\n",
        "    discipline: central\n",
        "    capacity: 2000\n",
        "    patience: 3m\n",
        "  sla:\n",
        "    wait: 30s\n",
        "  requests: 100000\n",
    ]
    return out


def _mix(teams: list[_Team], rng: random.Random) -> list[str]:
    """Request types drawn from real teams, so each is servable; shares in hundredths summing to 1."""
    if not teams:
        return []
    count = min(12, len(teams))
    picked = rng.sample(teams, count)
    hundredths = [1] * count
    for _ in range(100 - count):
        hundredths[rng.randrange(count)] += 1
    out = ["  mix:\n"]
    for i, (team, share) in enumerate(zip(picked, hundredths)):
        channel = rng.choice(team.channels)
        caps = rng.sample(team.capabilities, rng.randint(1, len(team.capabilities)))
        language = rng.choice(rng.choice(team.languages))
        name = f"{team.domain}_{channel}_{i + 1}"
        out.append(f"    - {{name: {name}, share: {share / 100:.2f}, channel: {channel}, "
                   f"capabilities: {_flow(caps)}, priority: {rng.choice(MIX_PRIORITIES)}, language: {language}}}\n")
    return out


def generate(n: int = 10_000, seed: int = 1) -> str:
    """A clean fleet file of ``n`` agents, the same text for the same ``n`` and ``seed``."""
    if n < 0:
        raise ValueError("n must be >= 0")
    rng = random.Random(seed)
    out = _header(n, seed)
    teams: list[_Team] = []
    port = 0
    for index, size in enumerate(_team_sizes(n, rng)):
        team = _Team(index, size, rng)
        teams.append(team)
        for k in range(size):
            _agent_yaml(team, k, BASE_PORT + port % 40000, rng, out)
            port += 1
    if n == 0:
        out[-1] = "agents: {}\n"
    out += _footer(teams, rng)
    return "".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Print a clean, realistic N-agent fleet file.")
    parser.add_argument("agents", nargs="?", type=int, default=10_000, help="number of agents (default 10000)")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    args = parser.parse_args(argv)
    sys.stdout.write(generate(args.agents, args.seed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
