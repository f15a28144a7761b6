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

import re
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass

from clawctl.core.findings import Finding, Path, Severity
from clawctl.core.lint.catalogue import declare, finding
from clawctl.core.lint.secret_shapes import (  # noqa: F401 - URL, _opaque, url_carries_secret: re-exported
    _NONE,
    _PLACEHOLDER,
    _SECRET_VALUES,
    _STRONG,
    _STRONG_KEYS,
    URL,
    _flag_value,
    _key_kind,
    _last_key,
    _opaque,
    credential_shaped,
    looks_like_secret,
    url_carries_secret,
)

declare("X001", "literal-secret", Severity.ERROR, "A secret written into the fleet file.", """
    Tokens and passwords never belong in a fleet file, which lives in git. Name the environment
    variable that holds the token: `auth: {token_env: SALES_AGENT_TOKEN}`. Credentials inside an
    endpoint URL count too. clawctl never prints, logs or stores the token itself.
""")


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
    """Whether :func:`screen` may flag anything in the data of a file whose source is ``text``.

    The tests are tried cheapest-to-pass first: `token` (of `token_env`) or `basic` near the top of a
    fleet file answers after a short search, where a scan for every shape word reads the whole text.
    """
    lower = text.lower()
    if any(w in lower for w in _SHAPE_WORDS_LOWER):
        return True
    if any(w in text for w in _SHAPE_WORDS) or _URL_WITH_EXTRAS.search(text):
        return True
    for word in _KEY_WORDS:
        i = lower.find(word)
        while i >= 0:
            if _KEY_TAIL.match(lower, i + len(word)):
                return True
            i = lower.find(word, i + 1)
    return False


_SHORTEST_SHAPE = 7  # no string shorter than this is credential-shaped (`a://:b@` is the shortest)


def screen(data: object, text: bytes | None = None, keys: Collection[str] | None = None,
           strings: Collection[str] | None = None) -> list[Flagged]:
    """Every secret in one file's data: values and mapping keys, anywhere (`x-` keys, labels, metadata).

    ``text``, the file's source, lets a file that cannot hold a secret skip the walk. ``keys`` and
    ``strings``, every distinct mapping key and string value in ``data`` (the YAML loader collects
    them; a few more do no harm), let it skip more: when none of them is shaped like a credential, only
    values under a secret-named key can be flagged, and the walk looks at nothing else
    (:func:`_screen_named`; the same result as the whole walk). Numbers count as values under a
    secret-named key (`password: 12345678`); true, false and null never do.
    """
    if text is not None and not may_hold_secret(text):
        return []
    if keys is not None and strings is not None and not any(map(credential_shaped, keys)) \
            and not any(credential_shaped(s) for s in strings if len(s) >= _SHORTEST_SHAPE):
        named = {key: kind for key in keys if (kind := _key_kind(key)) != _NONE}
        if not named or _STRONG not in named.values() and \
                not any(_opaque(s) and not _PLACEHOLDER.match(s) for s in strings if len(s) >= 16):
            return []  # under the weaker key words only a generated token (16 characters or more) is flagged
        return _screen_named(data, named)
    return _screen_all(data)


def _screen_all(data: object) -> list[Flagged]:
    out: list[Flagged] = []
    path: list[str | int] = []
    kinds: dict[str, int] = {}  # key -> _NONE, _WEAK or _STRONG, plus 4 when the key itself is credential-shaped
    verdicts: tuple[dict[str, bool], ...] = ({}, {}, {})  # per kind: value -> flagged
    scalar = _scalar_check(out, path, verdicts)
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


def _screen_named(data: object, named: dict[str, int]) -> list[Flagged]:
    """:func:`_screen_all` for data in which no key or string is credential-shaped: then only values
    under the keys of ``named`` (key -> _WEAK or _STRONG) can be flagged. Mappings without such a key
    and lists under any other key are only searched for the collections they hold."""
    out: list[Flagged] = []
    path: list[str | int] = []
    scalar = _scalar_check(out, path, ({}, {}, {}))

    def visit(value: object, kind: int) -> None:
        if isinstance(value, dict):
            if named.keys().isdisjoint(value):
                for key, item in value.items():
                    if isinstance(item, (dict, list)):
                        path.append(key)
                        visit(item, _NONE)
                        path.pop()
                return
            for key, item in value.items():
                k = named.get(key, _NONE) if isinstance(key, str) else _NONE
                if k != _NONE or isinstance(item, (dict, list)):
                    path.append(key)
                    if isinstance(item, (dict, list)):
                        visit(item, k)
                    else:
                        scalar(item, k)
                    path.pop()
        elif isinstance(value, list):
            for i, item in enumerate(value):
                if kind != _NONE or isinstance(item, (dict, list)):
                    path.append(i)
                    if isinstance(item, (dict, list)):
                        visit(item, kind)
                    else:
                        scalar(item, kind)
                    path.pop()
        elif kind != _NONE:
            scalar(value, kind)

    visit(data, _NONE)
    return out


def _scalar_check(out: list[Flagged], path: list[str | int],
                  verdicts: tuple[dict[str, bool], ...]) -> Callable[[object, int], None]:
    """The check of one scalar under a key of some kind (the verdicts kept per kind: value -> flagged);
    what it flags goes to ``out`` at ``path``."""

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

    return scalar


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
