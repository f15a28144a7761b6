"""S: the shape of a fleet file (keys, types, ranges, allowed values, sections per fleet).

Raised by the schema check (clawctl/core/lint/schema_check.py) and, for S006, by the merge of a
fleet's files (clawctl/core/fleet.py); declared here.
"""

from clawctl.core.findings import Severity
from clawctl.core.lint.catalogue import declare

declare("S001", "unknown-key", Severity.ERROR, "A key the fleet format does not define.", """
    Every section accepts a fixed set of keys; a typo would otherwise be ignored silently.
    The message suggests the nearest known key. Keys starting with `x-` are free for your own use.
""")
declare("S002", "wrong-type", Severity.ERROR, "A value of the wrong type.", """
    For example a string where a number is expected (`weight: "3"`), or a single value where a list
    is expected. clawctl does not coerce: what you write is what every tool reads.
""")
declare("S003", "out-of-range", Severity.ERROR, "A number outside its allowed range, or values that contradict.", """
    `max_concurrent_conversations` must be at least 1, `weight` at least 0, a share or a score weight
    between 0 and 1, a lognormal's p95 above its mean, and so on.
""")
declare("S004", "missing-key", Severity.ERROR, "A required key is missing.", """
    `agents` at the top level, `rate` in `traffic.arrivals`, `level` in a security level, `name` and
    `share` in a mix entry, `token_env` in `auth`.
""")
declare("S005", "unknown-value", Severity.ERROR, "A value outside the allowed set.", """
    Keys such as `type`, `endpoint_kind`, `encryption` or `queue.discipline` take one of a fixed set
    of values; the message lists them and suggests the nearest.
""")
declare("S006", "duplicate-section", Severity.ERROR, "A top-level section is defined in two files of one fleet.", """
    When a fleet is split over several files, `agents` merge; every other section (`load_balancing`,
    `traffic`, ...) must be defined in one file only. `defaults` apply to the agents of their own file.
    `apiVersion`, `kind` and `metadata` may repeat: files of one fleet share `metadata.name`.
""")
