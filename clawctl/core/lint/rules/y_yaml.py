"""Y: YAML hygiene. Raised by the loader (adapters/yamlload.py) and the engine; declared here."""

from clawctl.core.findings import Severity
from clawctl.core.lint.catalogue import declare

declare("Y001", "syntax-error", Severity.ERROR, "The file is not valid YAML.", """
    The parser stopped at the position shown. Nothing after it was checked.
    Tabs cannot indent YAML; an unclosed `[` or `{`, or a `key: value: value` line, are the usual causes.
    A tab as the space after `:`, `-`, `?` or `---` (`name:<TAB>prod`) is reported here too: YAML 1.2
    allows it in some places, but PyYAML refuses it and clawctl's parser would read `name:<TAB>prod`
    as one string, so clawctl refuses it rather than guess. Use a space.
""")
declare("Y002", "duplicate-key", Severity.ERROR, "A mapping defines the same key twice.", """
    YAML forbids duplicate keys, but many readers silently keep the last one and others the first.
    The finding sits on the second key and names the line of the first.
""")
declare("Y003", "yaml11-retype", Severity.WARNING,
        "A plain scalar that a YAML 1.1 reader types differently.", """
    clawctl reads YAML 1.2: `NO`, `on` and `yes` are strings and `17:00` is the string "17:00".
    PyYAML and many other tools read YAML 1.1, where `NO` is false and `17:00` is the integer 1020
    (sexagesimal). Quote the value so every tool reads the same thing.
""")
declare("Y004", "undefined-alias", Severity.ERROR,
        "An alias refers to no anchor defined before it, or to the node that holds it.", """
    `*name` must follow an `&name` anchor earlier in the same document, outside the anchored node:
    `agents: &x {<<: *x}` or `a: &x [*x]` would make a value that contains itself (a cycle), which
    no fleet file can mean. The alias is read as null; the finding names the anchor's line.
""")
declare("Y005", "multiple-documents", Severity.ERROR, "A fleet file holds more than one YAML document.", """
    A fleet file is one document. Split a `---`-separated stream into several files and pass them
    all: clawctl merges the `agents` of every file into one fleet.
""")
declare("Y006", "unsupported-yaml", Severity.ERROR, "A YAML feature fleet files do not use (tags, alias keys).", """
    Tags such as `!!int` or `!custom`, and aliases or tags on mapping keys, are refused: they mean
    different things to different readers. `!!str` is accepted. Merge keys (`<<: *anchor`) work.
    Integers of more than 100 digits are refused here too: YAML 1.2 puts no bound on integers, but
    no fleet value needs one that long and many tools cannot hold it. Such a scalar is read as text,
    so a typed key may also draw a schema finding; quote it if text is what it means.
""")
declare("Y007", "not-a-fleet", Severity.ERROR, "The document is empty or its top level is not a mapping.", """
    A fleet file is a mapping with at least `agents`. An empty file, a comment-only file, or a top
    level that is a list or a scalar is reported here.
""")
declare("Y008", "yaml-version-directive", Severity.WARNING, "A `%YAML` directive for a version other than 1.2.", """
    `%YAML 1.1` tells readers to use YAML 1.1 rules (`NO` is false, `17:00` is 1020). clawctl reads
    every fleet file as YAML 1.2 and does not switch, so the directive only misleads other tools and
    people. Remove it, and quote the scalars Y003 reports.
""")
