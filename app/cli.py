"""The `minishop` command: serve, worker (and its bulk-worker), migrate, seed-demo,
create-operator, export-openapi."""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import signal
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from app.settings import get_settings

cli = typer.Typer(
    name="minishop",
    help="MiniShop Open Platform: run the API, the worker and maintenance commands.",
    no_args_is_help=True,
    add_completion=False,
)


HostOption = Annotated[
    str | None,
    typer.Option(
        help="Interface to bind (default: MINISHOP_HOST, else 127.0.0.1).", show_default=False
    ),
]
PortOption = Annotated[
    int | None,
    typer.Option(
        help="Port to listen on (default: MINISHOP_PORT or PORT, else 8000).", show_default=False
    ),
]


def _loaded() -> None:
    """The command has imported what it runs: the garbage collector back on (`main`), with
    what the imports made set aside for good (`gc.freeze`: it lives as long as the process)."""
    gc.freeze()
    gc.enable()


def _listen_on(host: str | None, port: int | None) -> None:
    """Make `--host`/`--port` the settings of this process and of every process it starts
    (uvicorn's workers, the background worker), so the issuer and every link handed out name
    the address actually served; MINISHOP_PUBLIC_BASE_URL, when set, still wins."""
    if host is not None:
        os.environ["MINISHOP_HOST"] = host
    if port is not None:
        os.environ["MINISHOP_PORT"] = str(port)
    get_settings.cache_clear()


@cli.command()
def serve(
    host: HostOption = None,
    port: PortOption = None,
    workers: Annotated[int, typer.Option(help="Worker processes.", min=1)] = 1,
    reload: Annotated[bool, typer.Option(help="Reload on code changes (development).")] = False,
    with_worker: Annotated[
        bool, typer.Option(help="Also start a background worker process (development).")
    ] = False,
) -> None:
    """Serve the HTTP API and the docs."""
    import subprocess

    import uvicorn

    import app.main  # noqa: F401  (what uvicorn will load: imported with the collector off)

    _loaded()
    _listen_on(host, port)
    _check_secrets()
    settings = get_settings()
    worker_cmd = [sys.executable, "-m", "app", "worker", "--parent-pid", str(os.getpid())]
    worker_proc = subprocess.Popen(worker_cmd) if with_worker else None  # noqa: S603
    # uvicorn shuts down on SIGTERM/SIGINT and then raises the signal again; with the default
    # handler that kills us before any `finally` runs. Turn it into SystemExit instead so the
    # worker is stopped (the worker also exits by itself when it sees us gone).
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, _exit_on_signal)
    try:
        _serve(uvicorn, settings.host, settings.port, workers, reload)
    finally:
        if worker_proc is not None:
            worker_proc.terminate()
            try:
                worker_proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                worker_proc.kill()


def _exit_on_signal(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


def _check_secrets() -> None:
    """Fail fast in the supervisor: with several workers, each child would die on its own
    while the supervisor kept running, serving nothing."""
    from pydantic import ValidationError

    from app.infra.security.keys import load_keys
    from app.settings import MissingSecretError

    try:
        load_keys(get_settings())
    except (MissingSecretError, ValidationError) as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(2) from e


def _serve(uvicorn: Any, host: str, port: int, workers: int, reload: bool) -> None:
    uvicorn.run(
        "app.main:app_factory",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        reload=reload,
        # uvicorn would believe X-Forwarded-For from 127.0.0.1 by default; the app applies
        # MINISHOP_FORWARDED_ALLOW_IPS itself (empty: nobody is believed).
        proxy_headers=False,
        access_log=False,
        log_config=None,
    )


@cli.command()
def worker(
    once: Annotated[bool, typer.Option(help="Run one pass of every job, then exit.")] = False,
    interval: Annotated[float, typer.Option(help="Seconds between housekeeping passes.")] = 60.0,
    parent_pid: Annotated[
        int | None,
        typer.Option(help="Exit when this process (the one that started us) exits.", hidden=True),
    ] = None,
) -> None:
    """Run background work: webhooks, timers, bulk import/export jobs (in a process of their
    own, started and watched by this one) and housekeeping."""
    from app.api.schemas.bulk import SchemaRowValidator
    from app.infra.logging import configure_logging
    from app.worker import run_worker

    _loaded()
    settings = get_settings()
    configure_logging(settings.log_level)
    asyncio.run(
        run_worker(
            settings, SchemaRowValidator(), once=once, interval=interval, parent_pid=parent_pid
        )
    )


@cli.command("bulk-worker", hidden=True)
def bulk_worker(
    parent_pid: Annotated[
        int | None, typer.Option(help="Exit when this process (the worker) exits.")
    ] = None,
    once: Annotated[bool, typer.Option(help="Run the jobs queued now, then exit.")] = False,
) -> None:
    """Run bulk jobs only (imports, exports, label batches): the process `minishop worker`
    starts and watches."""
    from app.api.schemas.bulk import SchemaRowValidator
    from app.infra.logging import configure_logging
    from app.worker import run_bulk_jobs

    _loaded()
    settings = get_settings()
    configure_logging(settings.log_level)
    asyncio.run(run_bulk_jobs(settings, SchemaRowValidator(), once=once, parent_pid=parent_pid))


@cli.command()
def migrate(
    revision: Annotated[str, typer.Argument(help="Target revision.")] = "head",
) -> None:
    """Apply database migrations (Alembic) up to REVISION."""
    from app.infra.db.migrate import upgrade

    _loaded()
    upgrade(get_settings().database_url, revision)
    typer.echo(f"database migrated to {revision}")


@cli.command("seed-demo")
def seed_demo(
    host: Annotated[
        str | None, typer.Option(help="The --host `serve` will use.", show_default=False)
    ] = None,
    port: Annotated[
        int | None, typer.Option(help="The --port `serve` will use.", show_default=False)
    ] = None,
) -> None:
    """Load the demo data (idempotent) and write the credentials to $MINISHOP_VAR_DIR/demo.json.
    The demo app's docs redirect URI names the address that `serve` will listen on."""
    from app.seed import seed

    _loaded()
    _listen_on(host, port)
    settings = get_settings()
    path = asyncio.run(seed(settings))
    typer.echo(f"demo data ready; credentials in {path}")


@cli.command("create-operator")
def create_operator(
    username: Annotated[str, typer.Argument(help="Username of the operator.")],
    password: Annotated[
        str,
        typer.Option(
            prompt=True,
            hide_input=True,
            confirmation_prompt=True,
            help="Password (prompted when omitted).",
        ),
    ],
) -> None:
    """Create a platform operator, or grant the operator role to an existing account."""
    from app.seed import ensure_operator

    _loaded()
    account_id = asyncio.run(ensure_operator(get_settings(), username, password))
    typer.echo(f"operator {username} ({account_id})")


@cli.command("export-openapi")
def export_openapi(
    output: Annotated[Path, typer.Option(help="Where to write the spec.")] = Path(
        "openapi/openapi.json"
    ),
    check: Annotated[bool, typer.Option(help="Fail if the file differs instead of writing.")] = (
        False
    ),
) -> None:
    """Write the OpenAPI document and the README's route → scope table (or check both)."""
    from app.api.openapi import dump, with_scope_table
    from app.main import create_app

    _loaded()
    logging.getLogger("minishop.keys").setLevel(logging.ERROR)
    schema = create_app().openapi()
    readme = Path("README.md")
    wanted = {output: dump(schema)}
    if readme.exists():
        wanted[readme] = with_scope_table(readme.read_text(), schema)
    if check:
        stale = [p for p, text in wanted.items() if (p.read_text() if p.exists() else "") != text]
        for path in stale:
            typer.echo(f"{path} is out of date: run `make openapi`", err=True)
        if stale:
            raise typer.Exit(1)
        typer.echo(f"{output} and the README's scope table are up to date")
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    for path, text in wanted.items():
        path.write_text(text)
        typer.echo(f"wrote {path}")


def main() -> None:
    # Each command imports the application as it starts, some thousand modules whose objects
    # live as long as the process: the cyclic garbage collector, walking them again and again
    # while they load, took a sixth of a start's CPU (0.25 of 1.4 s for `serve`; the test
    # suite starts some forty of these processes). Off until the command has loaded (`_loaded`).
    gc.disable()
    cli()


if __name__ == "__main__":
    main()

__all__ = ["cli", "main"]
