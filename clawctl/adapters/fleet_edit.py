"""Write a changed copy of a fleet file with its comments, order and layout kept (ruamel.yaml round trip).

Used by `clawctl capacity --write`: agents' `max_concurrent_conversations` set, and new agents added
as copies of an existing agent's entry. The file is written whole or not at all (a temporary file in
the same folder, then a rename).
"""

from __future__ import annotations

import copy
import io
import os
import tempfile
from pathlib import Path

from clawctl.core.errors import InputError


def _yaml():
    from ruamel.yaml import YAML

    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


def edit_fleet(src: Path, dst: Path, slots: dict[str, int], copies: dict[str, str], note: str) -> None:
    """``slots``: agent id -> slots; ``copies``: new agent id -> the agent it copies (its entry as written)."""
    from ruamel.yaml.comments import CommentedMap
    from ruamel.yaml.error import YAMLError

    yaml = _yaml()
    try:
        doc = yaml.load(src.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, YAMLError) as exc:
        raise InputError(f"{src}: cannot read it to write the change ({str(exc).splitlines()[0]})") from None
    agents = doc["agents"]
    for agent_id, n in slots.items():
        entry = agents.get(agent_id)
        if entry is None:
            entry = agents[agent_id] = CommentedMap()
        entry["max_concurrent_conversations"] = n
    for new_id, base in copies.items():
        entry = copy.deepcopy(agents[base]) if agents[base] is not None else CommentedMap()
        if "endpoint" in entry:
            del entry["endpoint"]  # a new agent has its own address: the copy must not point at the original
        agents[new_id] = entry
        agents.yaml_set_comment_before_after_key(new_id, before=f"{note}: a copy of {base}; give it an endpoint",
                                                 indent=2)
    out = io.StringIO()
    yaml.dump(doc, out)
    fd, tmp = tempfile.mkstemp(prefix=f".{dst.name}.", suffix=".tmp", dir=dst.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(out.getvalue())
        os.replace(tmp, dst)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise InputError(f"{dst}: cannot write it ({exc.strerror or exc})") from None
