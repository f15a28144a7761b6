"""Masking what the secret screen flags (clawctl/core/lint/rules/x_secrets.py), wherever a fleet file
is shown or stored: source lines of code frames (:class:`MaskedSource`), finding messages
(:func:`mask_text`), and what `clawctl apply` records (:func:`mask_data`, :func:`mask_strings`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

from clawctl.core.findings import Path, Span
from clawctl.core.lint.rules.x_secrets import (
    URL,
    Flagged,
    credential_shaped,
    looks_like_secret,
    screen,
    url_carries_secret,
)

MASK = "***"  # what `apply` stores in place of a flagged value


def redact_url(value: str) -> str:
    """``value`` (a URL) without its user part, query and fragment: `http://***@10.0.0.5:8080/?***`."""
    scheme, sep, rest = value.partition("://")
    if not sep:
        scheme, rest = "", value
    before_query = re.split(r"[?#]", rest, maxsplit=1)[0]
    hidden = "?***" if len(before_query) < len(rest) else ""
    user = "***@" if "@" in before_query else ""
    host, slash, tail = before_query.rpartition("@")[2].partition("/")
    return f"{scheme}{sep}{user}{host}{slash}{tail}{hidden}"


def redact(value: str) -> str:
    """What is stored or shown in place of a flagged value: ``***``, or for a URL :func:`redact_url`."""
    return redact_url(value) if URL.fullmatch(value) else MASK


def mask_data(data: object, flagged: list[Flagged] | None = None) -> object:
    """A copy of ``data`` with every value the screen flags replaced by :func:`redact` of it, and
    every flagged mapping key by ``***`` (numbered when one mapping holds several)."""
    flagged = screen(data) if flagged is None else flagged
    values = {f.path for f in flagged if not f.at_key}
    keys = {f.path for f in flagged if f.at_key}
    if not flagged:
        return data

    def walk(value: object, path: Path) -> object:
        if isinstance(value, dict):
            out: dict = {}
            for key, item in value.items():
                sub = (*path, key)
                new_key = key
                if sub in keys:
                    new_key = MASK if MASK not in out else f"{MASK}{len(out)}"
                out[new_key] = walk(item, sub)
            return out
        if isinstance(value, list):
            return [walk(item, (*path, i)) for i, item in enumerate(value)]
        if path in values:
            return redact(value) if isinstance(value, str) else MASK
        return value

    return walk(data, ())


def mask_strings(value: object, secrets: set[str]) -> object:
    """``value`` (a record: dicts, lists, scalars) with every string that is one of ``secrets``, or
    holds one of at least 8 characters, or is shaped like a credential by itself, replaced by
    :func:`redact` of it. (Short secrets are matched whole: `pwd: east` must not mask `us-east`.)"""
    if isinstance(value, dict):
        return {k: mask_strings(v, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [mask_strings(v, secrets) for v in value]
    if isinstance(value, str) and (value in secrets or credential_shaped(value)
                                   or any(len(s) >= 8 and s in value for s in secrets)):
        return redact(value)
    return value


def mask_text(text: str, secrets: set[str], *, min_length: int = 4) -> str:
    """``text`` (a message) with every occurrence of a flagged value at least ``min_length`` long masked."""
    for s in sorted(secrets, key=len, reverse=True):
        if len(s) >= min_length and s in text:
            text = text.replace(s, MASK)
    return text


LINE_MASK = "********"  # what a source line shows in place of a secret

# The screen applied to one line of source text, for what the data no longer holds (the first value
# of a duplicated key) and what it never held (a comment): `key: value` pairs, in block or flow style,
# and credential shapes anywhere on the line.
_LINE_PAIR = re.compile(
    r"(?P<key>[A-Za-z0-9_.-]+)[\"']?[ \t]*:[ \t]+(?:&\S+[ \t]+)?"
    r"(?P<value>\"(?:[^\"\\]|\\.)*\"?|'(?:[^']|'')*'?|\$\{[^}]*\}|[^\s,#{}\[\]&*|>!][^,#{}\[\]]*)"
)
_LINE_SHAPES = re.compile(
    r"(?<![A-Za-z0-9_-])(?:sk-[A-Za-z0-9_-]{16,}|gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{40,}"
    r"|xox[abprs]-[A-Za-z0-9-]{10,}|AKIA[0-9A-Z]{16}|AIza[0-9A-Za-z_-]{35}|glpat-[A-Za-z0-9_-]{20}"
    r"|eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}"
    r"|(?i:bearer|token|basic)[ \t]+[A-Za-z0-9._~+/=-]{8,})"
)


def line_secrets(text: str) -> list[tuple[int, int]]:
    """``[start, end)`` ranges of one source line that the screen would flag, judged from the text alone."""
    return list(_line_secrets(text))


@lru_cache(maxsize=4096)  # a fleet repeats lines (team mates' channels, the same schedules): judge each once
def _line_secrets(text: str) -> tuple[tuple[int, int], ...]:
    out: list[tuple[int, int]] = []
    for m in _LINE_PAIR.finditer(text):
        value = m.group("value").rstrip()
        bare = value[1:-1] if len(value) >= 2 and value[0] in "\"'" and value[-1] == value[0] else value
        if bare and looks_like_secret((m.group("key"),), bare):
            out.append((m.start("value"), m.start("value") + len(value)))
    for m in _LINE_SHAPES.finditer(text):
        if credential_shaped(m.group()):
            out.append(m.span())
    for m in URL.finditer(text):
        if url_carries_secret(m.group()):
            out.append(m.span())
    return tuple(out)


class MaskedSource:
    """Source lines with the secrets masked: the ``source_line`` of a lint report.

    ``locate(file, path, at_key)`` gives the span of a flagged value; ``line(file, n)`` the raw line.
    Every flagged value is masked where it is written, and every other occurrence of it (an anchor
    that an alias repeats, say) on any line of its file, when it is at least 4 characters long; and
    each line is screened as text too (:func:`line_secrets`), for a secret the data no longer holds
    (the first value of a duplicated key) or never held (a comment).
    :meth:`pieces` says which parts of a line are masked, so a code frame can keep its carets in place.
    """

    def __init__(self, line: Callable[[str, int], str],
                 spans: dict[str, list[Span]] | None = None, values: dict[str, set[str]] | None = None) -> None:
        self._line = line
        self._spans = spans or {}
        self._values = {file: sorted((v for v in vals if len(v) >= 4), key=len, reverse=True)
                        for file, vals in (values or {}).items()}

    def ranges(self, file: str, number: int, text: str) -> list[tuple[int, int]]:
        """0-based ``[start, end)`` character ranges of ``text`` (line ``number``) that are secret."""
        out = line_secrets(text)
        for span in self._spans.get(file, ()):
            if span.line <= number <= span.end_line:
                start = span.column - 1 if number == span.line else len(text) - len(text.lstrip())
                end = span.end_column - 1 if number == span.end_line else len(text)
                if end > start:
                    out.append((max(start, 0), min(end, len(text))))
        for value in self._values.get(file, ()):
            for piece in value.splitlines() or [value]:
                if len(piece.strip()) < 4:
                    continue
                i = text.find(piece)
                while i >= 0:
                    out.append((i, i + len(piece)))
                    i = text.find(piece, i + len(piece))
        out.sort()
        merged: list[tuple[int, int]] = []
        for start, end in out:
            if merged and start <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
            elif end > start:
                merged.append((start, end))
        return merged

    def pieces(self, file: str, number: int) -> list[tuple[str, bool]]:
        """Line ``number`` of ``file`` as ``(text, secret)`` parts, in order; joined they are the raw line."""
        text = self._line(file, number)
        out: list[tuple[str, bool]] = []
        at = 0
        for start, end in self.ranges(file, number, text):
            if start > at:
                out.append((text[at:start], False))
            out.append((text[start:end], True))
            at = end
        if at < len(text) or not out:
            out.append((text[at:], False))
        return out

    def __call__(self, file: str, number: int) -> str:
        return "".join(LINE_MASK if secret else text for text, secret in self.pieces(file, number))


