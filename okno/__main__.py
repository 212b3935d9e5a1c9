"""The ``okno`` command line: serve, worker, migrate, check, token, replay, version."""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Coroutine
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Any

import click
from pydantic import ValidationError

from okno.logs import configure_logging
from okno.settings import Settings, load_settings


def _settings(config: Path | None) -> Settings:
    try:
        return load_settings(config)
    except FileNotFoundError as exc:
        raise click.ClickException(f"config file not found: {exc}") from exc
    except ValidationError as exc:
        lines = [
            f"  {'.'.join(str(p) for p in err['loc']) or '(root)'}: {err['msg']}"
            for err in exc.errors(include_url=False)
        ]
        raise click.ClickException("invalid configuration:\n" + "\n".join(lines)) from exc


def _run_service(main: Coroutine[Any, Any, None]) -> None:
    """Run a long-lived role on uvloop (okno.app.run_service_loop)."""
    from okno.app import run_service_loop  # noqa: PLC0415 - keep `okno version` instant

    run_service_loop(main)


pass_config = click.option(
    "--config",
    "config",
    type=click.Path(path_type=Path, dir_okay=False),
    envvar="OKNO_CONFIG",
    help="YAML config file (or OKNO_CONFIG).",
)


@click.group()
def cli() -> None:
    """okno — one window for every service-desk request."""


ROLES = ("http", "router", "notify", "sla", "telegram", "imap")


def _parse_roles(_ctx: click.Context, _param: click.Parameter, value: str) -> frozenset[str]:
    roles = frozenset(part.strip() for part in value.split(",") if part.strip())
    unknown = sorted(roles - set(ROLES))
    if unknown or not roles:
        msg = f"expected a comma-separated subset of {', '.join(ROLES)}; got {value!r}"
        raise click.BadParameter(msg)
    return roles


@cli.command()
@click.option(
    "--roles",
    default=",".join(ROLES),
    show_default=True,
    callback=_parse_roles,
    help="Roles to run here, e.g. http,notify with the router in `okno worker router` processes.",
)
@pass_config
def serve(roles: frozenset[str], config: Path | None) -> None:
    """Run HTTP, router and notify in one process (or the --roles given)."""
    from okno.app import serve as run  # noqa: PLC0415 - keep `okno version` instant

    settings = _settings(config)
    configure_logging(settings.logging)
    if "http" in roles and "router" not in roles and settings.redis_url is None:
        msg = "serving HTTP without the router role needs redis_url to reach router workers"
        raise click.ClickException(msg)
    _run_service(run(settings, roles=roles))


@cli.command()
@click.argument("role", type=click.Choice(["router", "notify", "sla", "telegram", "imap"]))
@pass_config
def worker(role: str, config: Path | None) -> None:
    """Run one worker role (scale out with Redis and PostgreSQL)."""
    from okno.app import serve as run  # noqa: PLC0415

    settings = _settings(config)
    configure_logging(settings.logging)
    if role == "router" and settings.redis_url is None and not settings.database.is_sqlite:
        raise click.ClickException("a separate router worker needs redis_url to receive work")
    _run_service(run(settings, roles=frozenset({role})))


@cli.command()
@pass_config
def migrate(config: Path | None) -> None:
    """Apply database migrations (Alembic) up to the latest schema."""
    from okno.commands import migrate as run  # noqa: PLC0415

    settings = _settings(config)
    configure_logging(settings.logging)
    asyncio.run(run(settings))
    click.echo("database is at the latest schema")


@cli.command()
@pass_config
def check(config: Path | None) -> None:
    """Validate the configuration and test every connection."""
    from okno.commands import check as run  # noqa: PLC0415

    settings = _settings(config)
    results = asyncio.run(run(settings))
    failed = False
    for name, ok, detail in results:
        click.echo(f"{'ok ' if ok else 'FAIL'}  {name}: {detail}")
        failed |= not ok
    sys.exit(1 if failed else 0)


@cli.group()
def token() -> None:
    """Manage API bearer tokens (only their hash is stored)."""


@token.command("create")
@click.argument("name")
@pass_config
def token_create(name: str, config: Path | None) -> None:
    """Create a token and print it once."""
    from okno.commands import create_token  # noqa: PLC0415

    click.echo(asyncio.run(create_token(_settings(config), name)))


@token.command("revoke")
@click.argument("name")
@pass_config
def token_revoke(name: str, config: Path | None) -> None:
    """Revoke a token by name."""
    from okno.commands import revoke_token  # noqa: PLC0415

    if not asyncio.run(revoke_token(_settings(config), name)):
        raise click.ClickException(f"no active token named {name!r}")
    click.echo(f"revoked {name}")


@cli.command()
@click.argument("ids", nargs=-1, type=int)
@click.option(
    "--mail", "mail", is_flag=True, help="Quarantined e-mail instead of failed inbox rows."
)
@click.option("--id", "more_ids", multiple=True, type=int, help="Only this id (repeatable).")
@click.option(
    "--list", "show", is_flag=True, help="With --mail: list quarantined mail, change nothing."
)
@pass_config
def replay(
    ids: tuple[int, ...],
    mail: bool,
    more_ids: tuple[int, ...],
    show: bool,
    config: Path | None,
) -> None:
    """Route failed inbound messages again (all, or the given inbox ids).

    With --mail, quarantined e-mail (all, or the given quarantine ids) is handed back to the
    running imap role, which parses and stores it again at its next mailbox check.
    """
    from okno import commands  # noqa: PLC0415

    settings = _settings(config)
    configure_logging(settings.logging)
    chosen = [*ids, *more_ids]
    if show:
        if not mail:
            raise click.UsageError("--list needs --mail")
        for line in asyncio.run(commands.quarantined_mail(settings)):
            click.echo(line)
        return
    if mail:
        count = asyncio.run(commands.replay_mail(settings, chosen))
        click.echo(f"queued {count} quarantined mail(s) for the imap role")
    else:
        count = asyncio.run(commands.replay(settings, chosen))
        click.echo(f"replayed {count} message(s)")
    if chosen and count < len(chosen):
        raise click.ClickException(
            f"{len(chosen) - count} of the given id(s) were not found or not waiting for a replay"
        )


@cli.command("config-example")
def config_example() -> None:
    """Print an example configuration documenting every key."""
    from okno.example_config import render_example  # noqa: PLC0415

    click.echo(render_example(), nl=False)


@cli.command()
def version() -> None:
    """Print the version."""
    click.echo(f"okno {package_version('okno')}")


def main() -> None:
    logging.captureWarnings(capture=True)
    cli()


if __name__ == "__main__":
    main()
