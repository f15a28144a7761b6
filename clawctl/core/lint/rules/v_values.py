"""V: values written in the fleet format's own spellings (durations, rates, schedules, URLs, zones, ids).

The field types of the fleet model (clawctl/core/model/types.py) refuse a bad value, and the schema
check (clawctl/core/lint/schema_check.py) reports it under these codes; declared here. V008 (a fleet
name that cannot be a folder name) is checked here.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator

from clawctl.core.findings import Finding, Severity
from clawctl.core.lint.catalogue import declare, finding, rule
from clawctl.core.lint.context import LintContext

declare("V001", "bad-duration", Severity.ERROR, "A duration that cannot be read.",
        "Durations are `250ms`, `30s`, `2m`, `1h`, `1h30m`, `1d`, or a bare number of seconds.")
declare("V002", "bad-rate", Severity.ERROR, "A rate that cannot be read.",
        "Rates are a count per unit of time: `120/min`, `2/s`, `50000/h`.")
declare("V003", "bad-percentage", Severity.ERROR, "A percentage that cannot be read or lies outside 0..100.",
        "Percentages are `85`, `85%` or `99.95%`.")
declare("V004", "bad-schedule", Severity.ERROR, "Business hours that cannot be read.", """
    `schedule` is `<time>-<time> <days>`: times like `9AM`, `9:30AM` or `18:00`; days `daily`,
    `weekdays`, `weekends`, a range `Mon-Fri` or a list `Mon,Wed,Fri`. The other form is
    `start`, `end` and optional `days`. An end before the start crosses midnight.
""")
declare("V005", "bad-url", Severity.ERROR, "An endpoint that is not an http(s) URL.",
        "An endpoint is `http(s)://host:port` with an optional path prefix, and no query or fragment.")
declare("V006", "unknown-timezone", Severity.ERROR, "A time zone that is not an IANA zone name.", """
    Time zones are IANA names such as `Europe/London` or `America/New_York`; abbreviations like `EST`
    are ambiguous. The message suggests the nearest zone.
""")
declare("V007", "bad-agent-id", Severity.ERROR, "An agent id outside `[a-z0-9][a-z0-9_-]*` or over 63 characters.",
        "Agent ids become URL paths, metric labels and store keys; they are lower case and short.")


_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


def _name_problem(name: str) -> str | None:
    """Why ``name`` cannot be a folder name as it is, or None."""
    if "/" in name or "\\" in name:
        return "holds a path separator"
    if ".." in name:
        return "holds `..`"
    if _CONTROL.search(name) or any(unicodedata.category(ch) == "Cf" for ch in name):
        return "holds a control or invisible formatting character"
    if name.startswith("."):
        return "starts with a dot"
    return None


@rule("V008", "bad-fleet-name", Severity.ERROR, "A fleet name that cannot be a folder name as it is.", """
    `metadata.name` names the fleet in the store, and clawctl uses it in folder and file names
    (`clawctl lab up` keeps its logs in a folder named after the fleet). A name with a path separator
    (`/`, `\\`), `..`, a control or invisible formatting character (terminal escapes, newlines,
    bidirectional controls) or a leading dot is refused; write names such as `acme-customer-care`
    (letters, digits, `.`, `_`, `-`). Wherever a name is used in a path, clawctl makes it one safe
    folder name: a name outside lower-case letters, digits, `.`, `_` and `-` (upper case included) gets
    its odd characters replaced by `_` and a short hash of the whole name appended.
""")
def bad_fleet_name(ctx: LintContext) -> Iterator[Finding]:
    metadata = ctx.fleet.metadata
    name = metadata.name if metadata else None
    if not name:
        return
    why = _name_problem(name)
    if why is not None:
        # imported here: it brings hashlib, which only this finding needs
        from clawctl.core.agent_records import safe_path_component

        yield finding("V008", f"fleet name `{name}` {why}; clawctl uses the name in folder and file names, where "
                      f"it would become `{safe_path_component(name)}`: use letters, digits, `.`, `_` and `-`",
                      ctx.fleet.where("metadata"), ("metadata", "name"))
