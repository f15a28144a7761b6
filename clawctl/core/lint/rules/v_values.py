"""V: values written in the fleet format's own spellings (durations, rates, schedules, URLs, zones, ids).

The field types of the fleet model (clawctl/core/model/types.py) refuse a bad value, and the schema
check (clawctl/core/lint/schema_check.py) reports it under these codes; declared here.
"""

from clawctl.core.findings import Severity
from clawctl.core.lint.catalogue import declare

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
