"""What the reference agent reads from a client: strict JSON bodies, the bearer token, and aiohttp's log.

Everything a client sends is untrusted. A body is parsed as strict JSON (no NaN or Infinity, nesting
at most MAX_JSON_DEPTH deep) or refused with a 400; the bearer token is compared as raw bytes; a
malformed request is one log line, never a traceback that could quote a header.
"""

from __future__ import annotations

import json
import logging
import math
import sys

from aiohttp.http_exceptions import BadHttpMessage

from clawctl.core.refagent import ApiError

MAX_JSON_DEPTH = 64  # nesting of a request body (objects and arrays)


def _not_a_constant(name: str) -> float:
    raise ValueError(f"{name} is not JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} does not fit a float")
    return value


def _too_deep(value: object, limit: int) -> bool:
    """Whether objects and arrays nest more than ``limit`` deep (walked with a list, not recursion)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def parse_body(data: bytes) -> object:
    """A request body as strict JSON, or ApiError(400).

    UTF-8 only; NaN, Infinity and numbers too large for a float are refused; nesting deeper than
    MAX_JSON_DEPTH is refused (a deep body makes `json.loads` raise RecursionError, and a body just
    under that depth would make the JSON written back for it raise later).
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ApiError(400, "the body must be JSON in UTF-8") from None
    try:
        value = json.loads(text, parse_constant=_not_a_constant, parse_float=_finite_float)
    except RecursionError:
        raise ApiError(400, f"the body must be JSON nested at most {MAX_JSON_DEPTH} deep") from None
    except ValueError as exc:  # JSONDecodeError, NaN, Infinity, 1e999, an integer over 4,300 digits
        reason = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
        raise ApiError(400, f"the body must be JSON ({reason[:100]})") from None
    if _too_deep(value, MAX_JSON_DEPTH):
        raise ApiError(400, f"the body must be JSON nested at most {MAX_JSON_DEPTH} deep")
    return value


class ServerLog(logging.LoggerAdapter):
    """aiohttp's request-handler log, with a client's malformed request as one line.

    aiohttp answers a request it cannot parse (a bad header byte, a broken chunk, a bad method) with
    400 itself and logs it with a traceback, as an ERROR. That is the client's mistake, not the
    agent's: it becomes one INFO line (or DEBUG, where aiohttp chose DEBUG) naming the error's class
    only, since its message may quote a header, and so a token. Everything else passes unchanged.
    """

    def log(self, level: int, msg: object, *args: object, exc_info: object = None, **kwargs: object) -> None:
        exc = exc_info if isinstance(exc_info, BaseException) else sys.exc_info()[1] if exc_info is True else None
        if isinstance(exc, BadHttpMessage):
            self.logger.log(min(level, logging.INFO), "clawctl agent: a malformed request answered %s (%s)",
                            exc.code, type(exc).__name__)
            return
        self.logger.log(level, msg, *args, exc_info=exc_info, **kwargs)  # type: ignore[arg-type]

    def exception(self, msg: object, *args: object, exc_info: object = True, **kwargs: object) -> None:
        self.log(logging.ERROR, msg, *args, exc_info=exc_info, **kwargs)


def token_bytes(token: str | None) -> bytes | None:
    # A token read from the environment may hold undecodable bytes (as surrogates): compare the bytes.
    return token.encode("utf-8", "surrogateescape") if token else None
