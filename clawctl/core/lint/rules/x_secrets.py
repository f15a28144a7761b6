"""X: secrets. Nothing that looks like a credential may sit in a fleet file.

X001 (a literal `auth.token`, or credentials in an endpoint URL) is raised by the schema check
(clawctl/core/lint/schema_check.py) and declared here; X002 is checked here over every file's raw data.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from clawctl.core.findings import Finding, Path, Severity
from clawctl.core.lint.catalogue import declare, finding, rule
from clawctl.core.lint.context import LintContext

declare("X001", "literal-secret", Severity.ERROR, "A secret written into the fleet file.", """
    Tokens and passwords never belong in a fleet file, which lives in git. Name the environment
    variable that holds the token: `auth: {token_env: SALES_AGENT_TOKEN}`. Credentials inside an
    endpoint URL count too. clawctl never prints, logs or stores the token itself.
""")

# A secret word at the end of a key, after a `_`/`-` or a camelCase boundary: `api_key`, `x-api-key`, `accessToken`.
_SECRET_KEYS = re.compile(
    r"(?:^|_|-|(?<=[a-z0-9])(?=[A-Z]))"
    r"(?i:token|password|passwd|secret|api[_-]?key|apikey|private[_-]?key|client[_-]?secret|bearer)$"
)
# Well-known credential shapes (prefixes documented by their issuers).
_SECRET_VALUES = re.compile(
    r"^(?:sk-[A-Za-z0-9_-]{16,}|sk-ant-[A-Za-z0-9_-]{16,}|gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{40,}"
    r"|xox[abprs]-[A-Za-z0-9-]{10,}|AKIA[0-9A-Z]{16}|AIza[0-9A-Za-z_-]{35}|glpat-[A-Za-z0-9_-]{20}"
    r"|Bearer\s+\S{8,}|eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,})$"
)
# Names whose value is the *name* of where a secret lives, not the secret.
_REFERENCE_KEYS = re.compile(r"(?:_env|_file|_ref|_name|_path)$", re.IGNORECASE)


# A byte-level screen: a file whose text holds none of these cannot hold a finding, and needs no walk.
_SCREEN_LOWER = (b"token", b"passw", b"secret", b"apikey", b"api_key", b"api-key", b"privatekey", b"private_key",
                 b"private-key", b"bearer")
_SCREEN_EXACT = (b"sk-", b"ghp_", b"gho_", b"ghu_", b"ghs_", b"ghr_", b"github_pat_", b"xox", b"AKIA", b"AIza",
                 b"glpat-", b"eyJ")


_KEY_TAIL = re.compile(rb"[\w-]*[\"']?[ \t]*:(?:[ \t]|$)", re.MULTILINE)


def _may_hold_secret(text: bytes) -> bool:
    """Whether a secret-like key (not `*_env`) or a credential-shaped value may be in ``text``."""
    if any(w in text for w in _SCREEN_EXACT):
        return True
    lower = text.lower()
    for word in _SCREEN_LOWER:
        i = lower.find(word)
        while i >= 0:
            m = _KEY_TAIL.match(lower, i + len(word))
            if m is not None:
                key_end = m.group(0).rstrip(b": \t\"'")
                if not (lower[:i + len(word)] + key_end).endswith((b"_env", b"-env")):
                    return True
            i = lower.find(word, i + 1)
    return False


def _walk(value: object, path: Path, out: list[tuple[Path, str]]) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            _walk(item, (*path, key), out)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _walk(item, (*path, i), out)
    elif isinstance(value, str) and value:
        out.append((path, value))
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        out.append((path, str(value)))  # `password: 12345678` is a literal secret too


def _is_auth_token(path: Path) -> bool:
    """`auth.token` of an agent or of `defaults`: where the schema check raises X001 (not under `x-` keys)."""
    return (len(path) == 4 and path[0] == "agents" and path[2:] == ("auth", "token")) or \
        path == ("defaults", "auth", "token")


def looks_like_secret(path: Path, value: str) -> bool:
    """Whether ``value`` at ``path`` is what X002 reports: under a secret-named key, or credential-shaped."""
    key = path[-1] if path and isinstance(path[-1], str) else ""
    if key and _SECRET_KEYS.search(key) and not _REFERENCE_KEYS.search(key):
        return True
    return bool(_SECRET_VALUES.match(value))


@rule("X002", "secret-like-value", Severity.ERROR, "A value that looks like a credential.", """
    A value under a key named like `token`, `password`, `secret` or `api_key`, or a string shaped like
    a well-known credential (`sk-...`, `ghp_...`, `xoxb-...`, `AKIA...`, a JWT, `Bearer ...`), anywhere
    in the file, including `x-` keys. Put secrets in environment variables and name the variable.
""")
def secret_like_value(ctx: LintContext) -> Iterator[Finding]:
    for file, data in ctx.raw.items():
        text = ctx.texts.get(file)
        if text is not None and not _may_hold_secret(text):
            continue
        strings: list[tuple[Path, str]] = []
        _walk(data, (), strings)
        for path, value in strings:
            key = path[-1] if path and isinstance(path[-1], str) else ""
            if _is_auth_token(path):
                continue  # X001 reports it, from the schema check
            if key and _SECRET_KEYS.search(key) and not _REFERENCE_KEYS.search(key):
                yield finding("X002", f"`{key}` holds a literal secret; name an environment variable instead "
                              "(the value is not shown)", file, path)
            elif _SECRET_VALUES.match(value):
                yield finding("X002", "this value looks like a credential; keep it in an environment variable "
                              "(the value is not shown)", file, path)
