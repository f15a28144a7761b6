"""O: OpenClaw's own config, openclaw.json (read by clawctl.core.openclaw.reader), linted as the gateway
would take it: the roster, the bindings, the channels, keys that would stop the gateway, and several
configs given together (ports, state).

Every check takes an :class:`OpenClawContext` (all the configs of one `clawctl validate` run: configs
given together are taken to be gateways of one deployment) and registers with ``target="openclaw"``.
Findings point at the file a value came from (an ``$include``d file where it was included) and carry
the JSON path in the merged document. No message repeats a value that could be a secret: they name
agents, channels, accounts, keys and paths.

Rules that need binding tiers use ``clawctl.core.openclaw.routing`` (``tier``, ``same_match``): the same
code that `clawctl openclaw route` resolves routes with.

A literal credential in openclaw.json is not a finding here (OpenClaw keeps its tokens in that file, which
it writes with mode 600); the secret screen of the X family still runs over every file read, so that what
it flags is masked in code frames and messages, in every output format.

Modules: :mod:`.roster` (agents), :mod:`.routes` (bindings and channels), :mod:`.gateways` (keys,
ports, state directories).
"""

from __future__ import annotations

from clawctl.core.lint.rules.o_openclaw import gateways, roster, routes  # noqa: F401  (they register the rules)
from clawctl.core.lint.rules.o_openclaw.common import OpenClawContext

__all__ = ["OpenClawContext"]
