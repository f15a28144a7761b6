"""The `clawctl` entry point: the typer app, global options, and the one error funnel."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, TextIO

from clawctl.core.errors import ExitCode

if TYPE_CHECKING:
    from clawctl.core.env import Env


def _fast_version(argv: list[str]) -> bool:
    """`clawctl --version` answers before typer and pydantic load (start-up under 300 ms)."""
    if argv == ["--version"]:
        from clawctl import __version__

        sys.stdout.write(f"clawctl {__version__}\n")
        return True
    return False


def _collect_seldom() -> None:
    """A command builds one large heap (a fleet's models, a run's results) and exits: the cyclic collector
    runs every 50,000 allocations instead of CPython's 700, as adapters/gc_headroom.py does for the prober.
    At 10,000 agents the default walks that heap hundreds of times: a fifth of `clawctl simulate`'s time
    (docs/benchmarks.md, "simulate at 10,000 agents"). Reference counting still frees almost everything."""
    import gc

    gen0, *rest = gc.get_threshold()
    if 0 < gen0 < 50_000:
        gc.set_threshold(50_000, *rest)


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if _fast_version(args):
        return int(ExitCode.OK)
    if argv is None:  # a process of its own (not a caller's, nor a test's)
        _collect_seldom()
        from clawctl.adapters import sigmask

        sigmask.release()  # a parent that held Ctrl-C and SIGTERM as it started us passed that on
    code = run(args)
    if argv is None:
        if code == ExitCode.INTERRUPTED:  # handled and cleaned up: a late Ctrl-C must not turn 130 into a kill
            import signal

            signal.signal(signal.SIGINT, signal.SIG_IGN)
        import gc

        gc.freeze()  # the heap is done with: no collection walks it again on the way out (~90 ms at 10,000 agents)
        sys.exit(code)
    return code


def run(args: list[str], env: Env | None = None) -> int:
    """Run the app on ``args`` in ``env`` (the process's by default; tests pass their own, with captured
    streams and a fixed clock); translate every error to one line on its stderr and an exit code."""
    import typer

    from clawctl.cli.app import app
    from clawctl.cli.options import process_env
    from clawctl.core.errors import ClawctlError

    env = env or process_env()

    def _error(message: str) -> None:
        _say(env.stderr, message)

    try:
        result = app(args=args, prog_name="clawctl", standalone_mode=False, obj=env)
    except ClawctlError as err:
        _error(err.message)
        return int(err.exit_code)
    except typer.Exit as exc:
        return int(exc.exit_code)
    except _click_errors() as exc:
        return _click_error(exc, _error)
    except (typer.Abort, KeyboardInterrupt):
        _error("interrupted")
        return int(ExitCode.INTERRUPTED)
    except BrokenPipeError:
        _silence_broken_pipe()
        return int(ExitCode.OK)
    except Exception as exc:  # noqa: BLE001 - the funnel: one line, never a traceback
        if _from_interrupt(exc):  # Ctrl-C inside an extension module's initialisation comes out as an ImportError
            _error("interrupted")
            return int(ExitCode.INTERRUPTED)
        _error(f"internal error: {type(exc).__name__}: {exc}")
        _error("this is a bug in clawctl; rerun with CLAWCTL_DEBUG=1 for the traceback and report it")
        if _debug():
            raise
        return int(ExitCode.INTERNAL)
    if result == ExitCode.INTERRUPTED:  # typer returns 130 for Ctrl-C (and for SIGTERM where a verb maps it)
        _error("interrupted")
    if isinstance(result, int):
        return int(result)
    return int(ExitCode.OK)


def _from_interrupt(exc: BaseException) -> bool:
    """Whether a KeyboardInterrupt is among the exceptions that led to ``exc`` (pybind11, for one, turns
    an interrupt during a module's initialisation into ``ImportError("initialization failed")``)."""
    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        if isinstance(cause, KeyboardInterrupt):
            return True
        seen.add(id(cause))
        cause = cause.__cause__ or cause.__context__
    return False


def _click_errors() -> tuple[type[Exception], ...]:
    """Click's error base: click's own, and the copy typer vendors since 0.2x (`typer._click`)."""
    out: list[type[Exception]] = []
    try:
        import click

        out.append(click.ClickException)
    except ImportError:  # pragma: no cover - typer without click
        pass
    import typer

    base = getattr(typer, "TyperException", None)
    if isinstance(base, type):
        out.append(base)
    return tuple(out)


def _click_error(exc: Exception, _error: Callable[[str], None]) -> int:
    """A bad flag or argument: one line (and a pointer to --help), exit 2."""
    code = int(getattr(exc, "exit_code", ExitCode.USAGE) or ExitCode.USAGE)
    if type(exc).__name__ == "NoArgsIsHelpError":  # `clawctl` alone: the help, as click shows it
        exc.show()  # type: ignore[attr-defined]
        return code
    message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
    message = " ".join(str(message).split())
    ctx = getattr(exc, "ctx", None)
    if code == ExitCode.USAGE and ctx is not None:
        message += f" (see `{ctx.command_path} --help`)"
    _error(message)
    return code


def _debug() -> bool:
    import os

    return os.environ.get("CLAWCTL_DEBUG", "") not in ("", "0")


def _say(stream: TextIO, message: str) -> None:
    from clawctl.render.safe import terminal_safe  # an error line may quote a file name or key: no escapes

    try:
        stream.write(f"clawctl: error: {terminal_safe(message)}\n")
        stream.flush()
    except (BrokenPipeError, ValueError):
        pass


def _silence_broken_pipe() -> None:
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


if __name__ == "__main__":
    main()
