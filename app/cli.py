"""The `minishop` command: serve, worker, migrate, seed-demo, create-operator, export-openapi."""

from __future__ import annotations

import asyncio
import logging
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


@cli.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.", envvar="PORT")] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes.", min=1)] = 1,
    reload: Annotated[bool, typer.Option(help="Reload on code changes (development).")] = False,
    with_worker: Annotated[
        bool, typer.Option(help="Also start a background worker process (development).")
    ] = False,
) -> None:
    """Serve the HTTP API and the docs."""
    import signal
    import subprocess

    import uvicorn

    worker_proc = subprocess.Popen([sys.executable, "-m", "app", "worker"]) if with_worker else None
    if worker_proc is not None:
        # uvicorn shuts down on SIGTERM, then re-raises it with the default handler, which
        # would end this process at once and skip the `finally` below, orphaning the worker.
        # Turn it into SystemExit instead, so that the worker is stopped too.
        signal.signal(signal.SIGTERM, lambda signum, _frame: sys.exit(128 + signum))
    try:
        _serve(uvicorn, host, port, workers, reload)
    finally:
        if worker_proc is not None:
            worker_proc.terminate()
            worker_proc.wait(timeout=10)


def _serve(uvicorn: Any, host: str, port: int, workers: int, reload: bool) -> None:
    uvicorn.run(
        "app.main:app_factory",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        reload=reload,
        proxy_headers=True,
        access_log=False,
        log_config=None,
    )


@cli.command()
def worker(
    once: Annotated[bool, typer.Option(help="Run one pass of every job, then exit.")] = False,
    interval: Annotated[float, typer.Option(help="Seconds between housekeeping passes.")] = 60.0,
) -> None:
    """Run background work: housekeeping now; webhook delivery and jobs as they land."""
    from app.infra.logging import configure_logging
    from app.worker import run_worker

    settings = get_settings()
    configure_logging(settings.log_level)
    asyncio.run(run_worker(settings, once=once, interval=interval))


@cli.command()
def migrate(
    revision: Annotated[str, typer.Argument(help="Target revision.")] = "head",
) -> None:
    """Apply database migrations (Alembic) up to REVISION."""
    from app.infra.db.migrate import upgrade

    upgrade(get_settings().database_url, revision)
    typer.echo(f"database migrated to {revision}")


@cli.command("seed-demo")
def seed_demo() -> None:
    """Load the demo data (idempotent) and write the credentials to $MINISHOP_VAR_DIR/demo.json."""
    from app.seed import seed

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
    """Write the OpenAPI document (or check the committed one for drift)."""
    from app.api.openapi import dump, with_scope_table
    from app.main import create_app

    logging.getLogger("minishop.keys").setLevel(logging.ERROR)
    schema = create_app().openapi()
    text = dump(schema)
    readme_path = Path("README.md")
    readme = readme_path.read_text() if readme_path.exists() else None
    new_readme = with_scope_table(readme, schema) if readme else None
    if check:
        current = output.read_text() if output.exists() else ""
        if current != text:
            typer.echo(f"{output} is out of date: run `make openapi`", err=True)
            raise typer.Exit(1)
        if readme != new_readme:
            typer.echo(
                "README.md's route → scope table is out of date: run `make openapi`", err=True
            )
            raise typer.Exit(1)
        typer.echo(f"{output} is up to date")
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text)
    if new_readme is not None and new_readme != readme:
        readme_path.write_text(new_readme)
        typer.echo("updated the route → scope table in README.md")
    typer.echo(f"wrote {output}")


def main() -> None:
    cli()


if __name__ == "__main__":
    main()

__all__ = ["cli", "main"]
