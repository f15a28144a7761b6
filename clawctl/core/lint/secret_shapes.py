"""Key names and value shapes that mark a credential: what the secret screen (clawctl/core/lint/rules/x_secrets.py)
judges each key and scalar by. Pure functions of strings."""

from __future__ import annotations

import base64
import binascii
import re
from urllib.parse import parse_qsl

from clawctl.core.findings import Path

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
    if _basic(value) or "-----BEGIN " in value and _PEM_KEY.search(value):
        return True
    # A URL carries a credential only with a user part, a query or a fragment (url_carries_secret).
    return "://" in value and ("@" in value or "?" in value or "#" in value) and \
        any(url_carries_secret(u) for u in URL.findall(value))


def _last_key(path: Path) -> str:
    """The key a scalar sits under; a list item sits under the key of its list."""
    for part in reversed(path):
        if isinstance(part, str):
            return part
    return ""


_NONE, _WEAK, _STRONG = 0, 1, 2


# The last words of _STRONG_KEYS and _WEAK_KEYS: an ASCII key that ends in none of them (in any case)
# matches neither, and needs no regular expression (`$` also matches before a final newline).
_KEY_ENDINGS = ("token", "password", "passwd", "pwd", "passphrase", "secret", "key", "credential", "credentials",
                "bearer", "auth", "header", "authorization", "sig", "signature", "cookie", "hmac", "salt")


def _key_kind(key: str) -> int:
    if key.isascii() and not key.lower().endswith(_KEY_ENDINGS) and not key.endswith("\n"):
        return _NONE
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
