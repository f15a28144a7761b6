"""`clawctl openclaw route CONFIG --channel C ...` and `clawctl import openclaw CONFIG [-o FILE]`."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from clawctl.cli.options import FormatOpt, OutputFormat, env_of

openclaw_app = typer.Typer(help="Read a real OpenClaw gateway's openclaw.json: which agent gets a message.",
                           no_args_is_help=True)
import_app = typer.Typer(help="Write a fleet file from another tool's configuration (OpenClaw's openclaw.json).",
                         no_args_is_help=True)

ConfigArg = Annotated[str, typer.Argument(help="The openclaw.json (JSON5; its $include files are followed).")]


@openclaw_app.command("route")
def route(
    ctx: typer.Context,
    config: ConfigArg,
    channel: Annotated[str, typer.Option("--channel", help="The channel the message arrives on (telegram, ...).",
                                         show_default=False)],
    account: Annotated[Optional[str], typer.Option(
        "--account", help="The channel account it arrives on; default: the channel's default account.",
        show_default=False)] = None,
    peer: Annotated[Optional[str], typer.Option(
        "--peer", help="The conversation, KIND:ID (direct:+15551234567, group:-100123, channel:C0123).",
        show_default=False)] = None,
    parent_peer: Annotated[Optional[str], typer.Option(
        "--parent-peer", help="For a thread: its parent conversation, KIND:ID (tier 2, thread inheritance).",
        show_default=False)] = None,
    guild: Annotated[Optional[str], typer.Option("--guild", help="The Discord guild id.", show_default=False)]
    = None,
    team: Annotated[Optional[str], typer.Option("--team", help="The Slack team id.", show_default=False)] = None,
    roles: Annotated[Optional[str], typer.Option(
        "--roles", help="The member's role ids, comma-separated (Discord).", show_default=False)] = None,
    output_format: FormatOpt = OutputFormat.text,
) -> int:
    """Which agent an OpenClaw gateway gives a message to: the tier and binding (file:line) that decide it,
    and why every other binding lost. Exit 0 routed, 1 nobody gets it (the gateway refuses it)."""
    from clawctl.render.output import render
    from clawctl.services.openclaw import message_of, route_message

    env = env_of(ctx)
    message = message_of(channel, account, peer, parent_peer, guild, team, roles)
    result = route_message(config, message)
    render(result, output_format.value, env)
    return result.exit_code


@import_app.command("openclaw")
def import_openclaw(
    ctx: typer.Context,
    config: ConfigArg,
    output: Annotated[Optional[str], typer.Option(
        "--output", "-o", help="Write the fleet file here (atomically); default: stdout.", show_default=False)]
    = None,
    force: Annotated[bool, typer.Option("--force", help="Replace FILE when it exists.")] = False,
    output_format: FormatOpt = OutputFormat.text,
) -> int:
    """Write a fleet file from an openclaw.json: agents, channels from bindings, capacity from maxConcurrent,
    isolation from sandbox, the gateway endpoint and its token's variable name (never a token). What
    clawctl needs and OpenClaw lacks is left as TODO(clawctl) comments; the file passes `clawctl validate`."""
    from clawctl.core.errors import ExitCode
    from clawctl.render.openclaw import notes
    from clawctl.render.output import render
    from clawctl.services.openclaw import import_openclaw as run

    env = env_of(ctx)
    result = run(config, output=output, force=force)
    notes(result, env)
    render(result, output_format.value, env)
    return ExitCode.OK
