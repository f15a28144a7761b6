"""Exit codes and the error types every layer raises.

The CLI has one funnel (``clawctl.cli.main``) that turns a :class:`ClawctlError` into one line on
stderr and its exit code. Nothing else prints errors.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Documented exit codes (README, ``docs/cli.md``); scripts and CI rely on them."""

    OK = 0
    FINDINGS = 1  # lint findings at or above --fail-on, objectives missed, a breach
    USAGE = 2  # bad flags or arguments
    UNREADABLE = 3  # an input or the store cannot be read
    UNREACHABLE = 4  # agents unreachable where reaching them was the job; a drill's steady state not met
    ABORTED = 5  # a failover drill stopped early (its target restored)
    RESTORE_FAILED = 6  # a failover drill could not restore its target: a person must look
    INTERNAL = 70  # a bug in clawctl: one line and a hint, never a traceback
    INTERRUPTED = 130


class ClawctlError(Exception):
    """An error meant for the user: one clear line and an exit code."""

    exit_code: ExitCode = ExitCode.INTERNAL

    def __init__(self, message: str, *, exit_code: ExitCode | None = None) -> None:
        super().__init__(message)
        self.message = message
        if exit_code is not None:
            self.exit_code = exit_code

    def __str__(self) -> str:
        return self.message


class UsageError(ClawctlError):
    exit_code = ExitCode.USAGE


class InputError(ClawctlError):
    """A file or stream that cannot be read or is refused (size, encoding, budgets)."""

    exit_code = ExitCode.UNREADABLE
