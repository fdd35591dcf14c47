"""Operator commands: `flask --app web keys create|list|revoke|rotate-secret`."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup
from limits import parse as parse_limit

keys = AppGroup("keys", help="API keys for servers calling the API (Authorization: Bearer).")


def _clients():
    return current_app.extensions["clients"]


def _rate(ctx, param, value):
    if value is None:
        return None
    try:
        parse_limit(value)
    except ValueError:
        raise click.BadParameter(f"must look like '10/minute', got {value!r}") from None
    return value


@keys.command("create")
@click.argument("name")
@click.option("--rate", callback=_rate, help="Generation rate, e.g. 10/minute "
              "(default RATE_LIMIT_CLIENT).")
@click.option("--max-active", type=click.IntRange(min=1), help="Queued + running jobs at once "
              "(default MAX_ACTIVE_JOBS_PER_CLIENT).")
def create(name: str, rate: str | None, max_active: int | None) -> None:
    """A new key for client NAME (created if new; its jobs are shared by all its keys).

    The key is printed once, alone on the last line; only its hash is stored.
    """
    key, key_id, client_id = _clients().create_key(name, rate=rate, max_active=max_active)
    click.echo(f"client {name} ({client_id}), key id {key_id}. Store this key now; "
               "it is not shown again:")
    click.echo(key)


@keys.command("list")
def list_keys() -> None:
    """Every key: id, client, created, revoked, limits (never a secret)."""
    rows = _clients().list_keys()
    click.echo(f"{'KEY ID':18} {'CLIENT':20} {'CREATED':26} {'REVOKED':26} RATE / MAX ACTIVE")
    for row in rows:
        click.echo(
            f"{row['key_id']:18} {row['client'][:20]:20} {row['created_at'] or '':26} "
            f"{row['revoked_at'] or '-':26} {row['rate'] or 'default'} / "
            f"{row['max_active'] or 'default'}"
        )


@keys.command("revoke")
@click.argument("key_id")
def revoke(key_id: str) -> None:
    """Revoke a key: it gets 401 from now on; its client's jobs stay readable by other keys."""
    if not _clients().revoke(key_id):
        raise click.ClickException(f"no key with id {key_id}")
    click.echo(f"revoked {key_id}")


@keys.command("rotate-secret")
@click.argument("name")
def rotate_secret(name: str) -> None:
    """A new webhook signing secret for client NAME; the old one also signs for 24 h."""
    client_id = _clients().client_id_by_name(name)
    if client_id is None:
        raise click.ClickException(f"no client called {name}")
    click.echo(_clients().rotate_webhook_secret(client_id)["secret"])
