"""X: secrets. Nothing that looks like a credential may sit in a fleet file.

X001 (a literal `auth.token`, or credentials in an endpoint URL) is raised by the schema check
(clawctl/core/lint/schema_check.py); X002 by the lint engine (clawctl/core/lint/engine.py) from
:func:`screen` over every file's raw data. Both are declared here.

:func:`screen` is the one secret screen. X002 reports what it flags; clawctl/core/lint/masking.py
masks what it flags in every source line a code frame shows and in messages, and `clawctl apply`
stores what it flags as ``***``. A value the screen flags is never shown or stored, whether or not its
finding was suppressed.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import parse_qsl

from clawctl.core.findings import Finding, Path, Severity
from clawctl.core.lint.catalogue import declare, finding

declare("X001", "literal-secret", Severity.ERROR, "A secret written into the fleet file.", """
    Tokens and passwords never belong in a fleet file, which lives in git. Name the environment
    variable that holds the token: `auth: {token_env: SALES_AGENT_TOKEN}`. Credentials inside an
    endpoint URL count too. clawctl never prints, logs or stores the token itself.
""")

# -- key names --------------------------------------------------------------------------------------
# A key is judged by its last word: after a `_`/`-`, a camelCase boundary, or the start of the key.
# `token_env`, `password_file` and `secret_name` end in another word: they name where a secret lives.
_BOUNDARY = r"(?:^|_|-|(?<=[a-z0-9])(?=[A-Z]))"
# Any value under these keys is a secret.
_STRONG_KEYS = re.compile(
    _BOUNDARY + r"(?i:token|password|passwd|pwd|passphrase|secret|api[_-]?key|apikey|private[_-]?key"
    r"|privatekey|credentials?|bearer)$"
)
# These words also name ordinary things (a label `key: region`, `auth: required`): a value under them
# is a secret only when it is shaped like one (:func:`_opaque`, :func:`credential_shaped`).
_WEAK_KEYS = re.compile(
    _BOUNDARY + r"(?i:key|auth|auth[_-]?header|authorization|sig|signature|cookie|hmac|salt)$"
)
# Query parameters of a URL that carry a credential: any value they hold is one.
_SECRET_PARAMS = re.compile(
    r"(?i:(?:.*[_-])?(?:access[_-]?token|refresh[_-]?token|id[_-]?token|auth[_-]?token|token|key|api[_-]?key"
    r"|apikey|sig|signature|password|passwd|pwd|secret|client[_-]?secret|credentials?|auth|code|session"
    r"|sessionid))$"
)

# -- value shapes -----------------------------------------------------------------------------------
# Well-known credential shapes (prefixes documented by their issuers), and HTTP credentials.
_SECRET_VALUES = re.compile(
    r"^(?:sk-[A-Za-z0-9_-]{16,}|sk-ant-[A-Za-z0-9_-]{16,}|gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{40,}"
    r"|xox[abprs]-[A-Za-z0-9-]{10,}|AKIA[0-9A-Z]{16}|AIza[0-9A-Za-z_-]{35}|glpat-[A-Za-z0-9_-]{20}"
    r"|eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,})$"
)
# `Bearer <token>` / `Token <token>`: the token has a digit or a token character, so that prose such as
# "Bearer authentication" is not taken for one. `Basic <base64>` is judged by :func:`_basic`.
_SCHEME_TOKEN = re.compile(r"^(?i:bearer|token)\s+([A-Za-z0-9._~+/=-]{8,})$")
_BASIC = re.compile(r"^(?i:basic)\s+([A-Za-z0-9+/=_-]{8,})$")
# A quick test that every credential shape below passes (one match instead of five).
_MAY_BE_SHAPED = re.compile(r"(?:sk-|gh[pousr]_|github_pat_|xox|AKIA|AIza|glpat-|eyJ|(?i:bearer|token|basic)\s)"
                            r"|.*?(?:-----BEGIN|://)", re.DOTALL)
_PEM_KEY = re.compile(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----")
URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s\"'<>`]+")
# Values that name where a secret lives or stand in for one: never secrets themselves.
_PLACEHOLDER = re.compile(r"^(?:\$\{[^}]*\}|\$[A-Za-z_][A-Za-z0-9_]*|\*+|<[^<>]*>)$")
# An opaque token: one word of token characters.
_TOKEN_CHARS = re.compile(r"^[A-Za-z0-9+/=_.~-]{16,}$")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
_HEX = re.compile(r"^[0-9a-fA-F]{16,}$")
_SEGMENT = re.compile(r"[A-Za-z0-9]+")
_RUN = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|[0-9]+")  # a word, a capitalised word, an acronym, a number
_LETTER_DIGIT = re.compile(r"(?<=[A-Za-z])(?=[0-9])|(?<=[0-9])(?=[A-Za-z])")

def _opaque(value: str) -> bool:
    """Whether ``value`` is shaped like a generated token rather than a name or a word.

    One word of at least 16 token characters (letters, digits, ``+/=_.~-``) with at least 12 letters
    and digits that is a UUID; hexadecimal or base64 (``+``, ``=`` padding) mixing letters and digits;
    a run of 16 letters and digits that switches between letters and digits at least 4 times; or text
    that is not made of words: less than half of its letters and digits in runs of 4 or more (`Agent`,
    `primary`, `2024`) or in short pieces between separators (`eu`, `v2`), or a change of run (lower
    to upper case, letter to digit) at 3 or more of every 10 places. Random tokens of 20 characters
    pass one of these about 98 times in 100 (letters and digits), names such as `eu-west-1-primary`,
    `salesAgentPrimary2` or `ubuntu-22.04-lts-x86_64` none.
    """
    if not _TOKEN_CHARS.match(value):
        return False
    if _UUID.match(value):
        return True
    segments = _SEGMENT.findall(value)
    alnum = "".join(segments)
    if len(alnum) < 12:
        return False
    mixed = any(c.isdigit() for c in alnum) and any(c.isalpha() for c in alnum)
    if mixed and (_HEX.match(value) or "+" in value or value.endswith("=")):
        return True
    if any(len(s) >= 16 and len(_LETTER_DIGIT.findall(s)) >= 4 for s in segments):
        return True
    runs = [(s, _RUN.findall(s)) for s in segments]
    wordish = sum(len(s) if len(s) <= 3 else sum(len(r) for r in rs if len(r) >= 4) for s, rs in runs)
    pairs = sum(len(s) - 1 for s in segments)
    changes = sum(len(rs) - 1 for _, rs in runs)
    return wordish * 2 < len(alnum) or (pairs > 0 and changes * 10 >= pairs * 3)


def _basic(value: str) -> bool:
    """`Basic <base64>` HTTP credentials: base64 of `user:password`, or base64 with a digit or padding."""
    m = _BASIC.match(value)
    if m is None:
        return False
    token = m.group(1)
    if any(c.isdigit() or c in "+/=" for c in token):
        return True
    try:
        decoded = base64.b64decode(token + "=" * (-len(token) % 4), validate=False)
    except (binascii.Error, ValueError):
        return False
    return b":" in decoded


def url_carries_secret(url: str) -> bool:
    """Whether a URL carries a credential: a password or a token as its user, or a secret query parameter."""
    rest = url.partition("://")[2]
    if "@" not in rest and "?" not in rest and "#" not in rest:
        return False
    before_query = re.split(r"[?#]", rest, maxsplit=1)[0]
    if "@" in before_query:  # the last `@` before the query ends the user part, even with a `/` in it
        user, colon, password = before_query.rpartition("@")[0].partition(":")
        if (colon and password) or _opaque(user) or _SECRET_VALUES.match(user):
            return True
    for part in re.split(r"[?#]", rest)[1:]:
        for name, value in parse_qsl(part, keep_blank_values=False):
            if value and _SECRET_PARAMS.match(name) and not _PLACEHOLDER.match(value):
                return True
    return False


def credential_shaped(value: str) -> bool:
    """Whether ``value`` is a credential whatever key holds it: a well-known token shape, HTTP
    credentials (`Bearer ...`, `Basic ...`), a private key, or a URL that carries a credential."""
    if not _MAY_BE_SHAPED.match(value):
        return False
    if _SECRET_VALUES.match(value):
        return True
    m = _SCHEME_TOKEN.match(value)
    if m is not None and any(c.isdigit() or c in "._~+/=-" for c in m.group(1)):
        return True
    if _basic(value) or _PEM_KEY.search(value):
        return True
    return "://" in value and any(url_carries_secret(u) for u in URL.findall(value))


def _last_key(path: Path) -> str:
    """The key a scalar sits under; a list item sits under the key of its list."""
    for part in reversed(path):
        if isinstance(part, str):
            return part
    return ""


_NONE, _WEAK, _STRONG = 0, 1, 2


def _key_kind(key: str) -> int:
    if _STRONG_KEYS.search(key):
        return _STRONG
    return _WEAK if _WEAK_KEYS.search(key) else _NONE


def _flag_value(kind: int, value: str) -> bool:
    if not value or _PLACEHOLDER.match(value):
        return False
    return kind == _STRONG or credential_shaped(value) or (kind == _WEAK and _opaque(value))


def looks_like_secret(path: Path, value: str) -> bool:
    """Whether the scalar ``value`` at ``path`` is a secret (what :func:`screen` flags)."""
    return _flag_value(_key_kind(_last_key(path)), value)


@dataclass(frozen=True, slots=True)
class Flagged:
    """A value (or a mapping key, ``at_key``) the secret screen flags, at ``path`` in a file's data."""

    path: Path
    value: str
    at_key: bool = False


# A byte-level pre-screen: a file whose text holds none of these holds nothing :func:`screen` flags
# (checked by a property test), and needs no walk. YAML escapes (`"\x74oken"`) and `!!binary` can
# spell anything, so a backslash or a binary tag always means a walk.
_KEY_WORDS = (b"token", b"passw", b"pwd", b"passphrase", b"secret", b"apikey", b"api_key", b"api-key",
              b"privatekey", b"private_key", b"private-key", b"credential", b"bearer", b"key", b"auth", b"sig",
              b"cookie", b"hmac", b"salt")
_SHAPE_WORDS = (b"sk-", b"ghp_", b"gho_", b"ghu_", b"ghs_", b"ghr_", b"github_pat_", b"xox", b"AKIA", b"AIza",
                b"glpat-", b"eyJ", b"\\", b"!binary")
_SHAPE_WORDS_LOWER = (b"bearer", b"token", b"basic", b"private key")
_KEY_TAIL = re.compile(rb"[\w-]*[\"']?[ \t]*:")
_URL_WITH_EXTRAS = re.compile(rb"://[^\s\"'<>`]*[@?#]")


def may_hold_secret(text: bytes) -> bool:
    """Whether :func:`screen` may flag anything in the data of a file whose source is ``text``."""
    if any(w in text for w in _SHAPE_WORDS) or _URL_WITH_EXTRAS.search(text):
        return True
    lower = text.lower()
    if any(w in lower for w in _SHAPE_WORDS_LOWER):
        return True
    for word in _KEY_WORDS:
        i = lower.find(word)
        while i >= 0:
            if _KEY_TAIL.match(lower, i + len(word)):
                return True
            i = lower.find(word, i + 1)
    return False


_SHORTEST_SHAPE = 7  # no string shorter than this is credential-shaped (`a://:b@` is the shortest)


def screen(data: object, text: bytes | None = None) -> list[Flagged]:
    """Every secret in one file's data: values and mapping keys, anywhere (`x-` keys, labels, metadata).

    ``text``, the file's source, lets a file that cannot hold a secret skip the walk. Numbers count
    as values under a secret-named key (`password: 12345678`); true, false and null never do.
    """
    if text is not None and not may_hold_secret(text):
        return []
    out: list[Flagged] = []
    path: list[str | int] = []
    kinds: dict[str, int] = {}  # key -> _NONE, _WEAK or _STRONG, plus 4 when the key itself is credential-shaped
    verdicts: tuple[dict[str, bool], ...] = ({}, {}, {})  # per kind: value -> flagged

    def scalar(value: object, kind: int) -> None:
        if isinstance(value, str):
            if kind == _NONE and len(value) < _SHORTEST_SHAPE:
                return
            seen = verdicts[kind]
            verdict = seen.get(value)
            if verdict is None:
                verdict = seen[value] = _flag_value(kind, value)
            if verdict:
                out.append(Flagged(tuple(path), value))
        elif kind == _STRONG and isinstance(value, (int, float)) and not isinstance(value, bool):
            out.append(Flagged(tuple(path), str(value)))

    plain = verdicts[_NONE]

    def visit(value: object, kind: int) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                k = _NONE
                if isinstance(key, str):
                    k = kinds.get(key, -1)
                    if k < 0:
                        k = kinds[key] = _key_kind(key) | (4 if credential_shaped(key) else 0)
                    if k & 4:
                        out.append(Flagged((*path, key), key, at_key=True))
                        k &= 3
                if k == _NONE:  # the common case, decided without a call: short strings, numbers, known values
                    if isinstance(item, str):
                        if len(item) < _SHORTEST_SHAPE or plain.get(item) is False:
                            continue
                    elif not isinstance(item, (dict, list)):
                        continue
                path.append(key)
                if isinstance(item, (dict, list)):
                    visit(item, k)
                else:
                    scalar(item, k)
                path.pop()
        elif isinstance(value, list):
            for i, item in enumerate(value):
                if kind == _NONE and isinstance(item, str) and (len(item) < _SHORTEST_SHAPE
                                                                or plain.get(item) is False):
                    continue
                path.append(i)
                if isinstance(item, (dict, list)):
                    visit(item, kind)
                else:
                    scalar(item, kind)
                path.pop()
        else:
            scalar(value, kind)

    visit(data, _NONE)
    return out


def _is_auth_token(path: Path) -> bool:
    """`auth.token` of an agent or of `defaults`: where the schema check raises X001 (not under `x-` keys)."""
    return (len(path) == 4 and path[0] == "agents" and path[2:] == ("auth", "token")) or \
        path == ("defaults", "auth", "token")


# -- the rule ---------------------------------------------------------------------------------------

declare("X002", "secret-like-value", Severity.ERROR, "A value that looks like a credential.", """
    Anywhere in the file, `x-` keys, `metadata` and labels included, clawctl flags:

    - any value under a key whose last word is `token`, `password`, `passwd`, `pwd`, `passphrase`,
      `secret`, `api_key` (`apikey`, `x-api-key`, `apiKey`), `private_key`, `credential(s)` or `bearer`;
    - a value shaped like a generated token (below) under a key whose last word is `key`, `auth`,
      `auth_header`, `authorization`, `sig`, `signature`, `cookie`, `hmac` or `salt`: these words also
      name ordinary things, so a label `key: region` or `auth: required` is not a secret;
    - a value shaped like a credential under any key: a well-known token (`sk-...`, `ghp_...`,
      `xoxb-...`, `AKIA...`, `AIza...`, `glpat-...`, a JWT), HTTP credentials (`Bearer <token>`,
      `Token <token>`, `Basic <base64>`), a PEM private key, or a URL that carries a password, a token
      as its user, or a query parameter such as `access_token`, `token`, `key`, `sig`, `signature`,
      `password`, `secret` or `code` (`https://hooks.example.com/?token=...`); mapping keys shaped like
      a credential too.

    A key is judged by its last word, so `token_env`, `password_file` and `secret_name` (which name
    where a secret lives) are not flagged: `auth.token_env` is how a fleet names its tokens.
    `${VAR}`, `$VAR`, `***` and `<placeholder>` are never secrets. A generated token is one word of at
    least 16 letters, digits and `+/=_.~-` that is a UUID, hexadecimal or padded base64 mixing letters
    and digits, or is not made of words (most of it in short runs, switching often between lower
    case, upper case and digits): `q7Vd2LxR9kWm4TzB1pHs` is one, `eu-west-1-primary`,
    `salesAgentPrimary2` and `backups/2024/01/fleet.tar.gz` are not. Under the weaker key words a
    generated token of only lower case letters (no digits) can slip through.

    The value is never shown: messages leave it out and code frames mask it (`********`), whatever
    finding the frame is for. `clawctl apply` stores it as `***`, also when this finding is suppressed.
    Put secrets in environment variables and name the variable. Raised by the lint engine from the
    secret screen; a literal `auth.token` or credentials in an `endpoint` are X001 instead.
""")


def secret_findings(file: str, flagged: list[Flagged]) -> Iterator[Finding]:
    """X002 for each value the screen flagged in ``file`` (`auth.token` is X001's, from the schema check)."""
    for flag in flagged:
        if _is_auth_token(flag.path):
            continue
        key = _last_key(flag.path)
        if flag.at_key:
            yield finding("X002", "this key looks like a credential; keep it in an environment variable "
                          "(it is not shown)", file, flag.path, at_key=True)
        elif key and _STRONG_KEYS.search(key):
            yield finding("X002", f"`{key}` holds a literal secret; name an environment variable instead "
                          "(the value is not shown)", file, flag.path)
        elif "://" in flag.value and not _SECRET_VALUES.match(flag.value):
            yield finding("X002", "this URL carries a credential (a password, or a token as its user or in "
                          "its query); keep it in an environment variable (the value is not shown)", file, flag.path)
        else:
            yield finding("X002", "this value looks like a credential; keep it in an environment variable "
                          "(the value is not shown)", file, flag.path)
