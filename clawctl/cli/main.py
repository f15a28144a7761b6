"""The `clawctl` entry point: the typer app, global options, and the one error funnel."""

from __future__ import annotations

import sys


def _fast_version(argv: list[str]) -> bool:
    """`clawctl --version` answers before typer and pydantic load (start-up under 300 ms)."""
    if argv == ["--version"]:
        from clawctl import __version__

        sys.stdout.write(f"clawctl {__version__}\n")
        return True
    return False


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if _fast_version(args):
        return 0
    code = run(args)
    if argv is None:
        sys.exit(code)
    return code


def run(args: list[str]) -> int:
    """Run the app on ``args``; translate every error to one line and an exit code."""
    import click

    from clawctl.cli.app import app
    from clawctl.core.errors import ClawctlError, ExitCode

    try:
        result = app(args=args, prog_name="clawctl", standalone_mode=False)
    except ClawctlError as err:
        _error(err.message)
        return int(err.exit_code)
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        return int(ExitCode.USAGE) if isinstance(exc, click.UsageError) else int(exc.exit_code or 1)
    except (click.exceptions.Abort, KeyboardInterrupt):
        _error("interrupted")
        return int(ExitCode.INTERRUPTED)
    except BrokenPipeError:
        _silence_broken_pipe()
        return 0
    except Exception as exc:  # noqa: BLE001 - the funnel: one line, never a traceback
        _error(f"internal error: {type(exc).__name__}: {exc}")
        _error("this is a bug in clawctl; rerun with CLAWCTL_DEBUG=1 for the traceback and report it")
        if _debug():
            raise
        return int(ExitCode.INTERNAL)
    if isinstance(result, int):
        return result
    return int(ExitCode.OK)


def _debug() -> bool:
    import os

    return os.environ.get("CLAWCTL_DEBUG", "") not in ("", "0")


def _error(message: str) -> None:
    try:
        sys.stderr.write(f"clawctl: error: {message}\n")
        sys.stderr.flush()
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
