"""What the HTTP adapters (Prometheus, OpenClaw's admin RPC) say about a URL or a failed connection."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from clawctl.core.probe import clean


def refused(exc: BaseException) -> bool:
    """Whether a connect error is a refusal (somewhere in its chain, or in its message)."""
    seen: BaseException | None = exc
    for _ in range(8):
        if seen is None:
            break
        if isinstance(seen, ConnectionRefusedError):
            return True
        seen = seen.__cause__ or seen.__context__
    return "refused" in str(exc).lower()


def without_credentials(url: str) -> str:
    """``url`` as shown in messages: any user and password dropped, cut to size."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return clean(url, 200)
    if parts.username is None and parts.password is None:
        return clean(url, 200)
    return clean(urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[-1])), 200)
