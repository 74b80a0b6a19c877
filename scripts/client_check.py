"""Generate a Python client from the committed spec with openapi-python-client, as a provider
would, and fail on any warning: every warning is an operation or a model the provider's client
silently goes without. `make client-check` runs it (and `.ci/run`); the tests import the client
it writes with `--output`.

Tolerated, for now and only this: the raw `text/csv` / `application/x-ndjson` bodies of
`POST /v1/products/bulk-imports`, which no generator can type (a `multipart/form-data` `file`
part is how generated clients upload).
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SPEC = REPO / "openapi" / "openapi.json"
PACKAGE = "minishop_client"
CONFIG = {
    "package_name_override": PACKAGE,
    "project_name_override": "minishop-client",
    # No formatting of the generated code (ruff): only its warnings matter here.
    "post_hooks": [],
    # Labels are PDFs (`GET /v1/waybills/{waybill_id}/label.pdf`, a batch's labels.pdf): the
    # generator reads binary responses as `application/octet-stream` only, so a provider's
    # config maps the PDF type to it (docs/generated-client.md) and gets the bytes.
    "content_type_overrides": {"application/pdf": "application/octet-stream"},
}
#: Where a warning (or an error) of the generator starts.
HEADER = re.compile(r"^(WARNING|ERROR|Unable to|Warning\(s\) encountered|Error\(s\) encountered)")
SUMMARY = "Warning(s) encountered while generating. Client was generated, but some pieces may be"
#: The generator's closing line after any warning.
FOOTER = "If you believe this was a mistake or this tool is missing a feature you need"
TOLERATED_OPERATION = re.compile(
    r"^WARNING parsing POST /v1/products/bulk-imports within \w+\."
    r"( Endpoint will not be generated\.)?$"
)
TOLERATED_REASON = re.compile(r"^Unsupported content type (text/csv|application/x-ndjson)$")


def generate(spec: Path, package_dir: Path) -> str:
    """Run the generator; its whole output (what it says besides the files it writes)."""
    config = package_dir.parent / "openapi-python-client.json"
    config.write_text(json.dumps(CONFIG))
    done = subprocess.run(  # noqa: S603 - our own venv's generator, our arguments
        [
            str(Path(sys.executable).parent / "openapi-python-client"),
            "generate",
            "--path",
            str(spec),
            "--meta",
            "none",
            "--config",
            str(config),
            "--output-path",
            str(package_dir),
            "--overwrite",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    output = done.stdout + done.stderr
    if done.returncode != 0:
        raise SystemExit(f"openapi-python-client failed ({done.returncode}):\n{output}")
    return output


def blocks(output: str) -> list[list[str]]:
    """The output as warning blocks: a header line and the lines up to the next header."""
    found: list[list[str]] = []
    for line in output.splitlines():
        if line.startswith(("Generating ", FOOTER)):
            continue
        if HEADER.match(line):
            found.append([line])
        elif found:
            found[-1].append(line)
        elif line.strip():
            found.append([line])  # anything else said before a header is suspect too
    return found


def tolerated(block: list[str]) -> bool:
    """The bulk-imports raw-body warning: its reasons (the lines before the JSON excerpt of
    the request body) are unsupported raw content types and nothing else."""
    if block[0].startswith(SUMMARY):
        return True  # the summary line; the blocks themselves are judged one by one
    if not TOLERATED_OPERATION.match(block[0]):
        return False
    reasons = []
    for line in block[1:]:
        if line.startswith(("{", "[")):
            break
        if line.strip():
            reasons.append(line.strip())
    return bool(reasons) and all(TOLERATED_REASON.match(r) for r in reasons)


def warnings(output: str) -> tuple[list[str], list[str]]:
    """(failing, tolerated) warnings, each as text."""
    failing, allowed = [], []
    for block in blocks(output):
        text = "\n".join(block).strip()
        if block[0].startswith(SUMMARY):
            continue
        (allowed if tolerated(block) else failing).append(text)
    return failing, allowed


def check(spec: Path, output_dir: Path) -> int:
    package_dir = output_dir / PACKAGE
    output = generate(spec, package_dir)
    failing, allowed = warnings(output)
    for text in allowed:
        print(f"client-check: tolerated (documented) warning:\n{text}\n")
    if failing:
        print(
            f"client-check: openapi-python-client warned about {spec.name}; each warning is "
            "something a generated client goes without:\n",
            file=sys.stderr,
        )
        for text in failing:
            print(text + "\n", file=sys.stderr)
        return 1
    # The client must also import: a generator can write code that does not.
    done = subprocess.run(  # noqa: S603 - this interpreter, a fixed statement
        [sys.executable, "-c", f"import {PACKAGE}, {PACKAGE}.api, {PACKAGE}.models"],
        cwd=output_dir,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        print(
            f"client-check: the generated client does not import:\n{done.stderr}", file=sys.stderr
        )
        return 1
    operations = sum(1 for _ in (package_dir / "api").rglob("*.py") if _.name != "__init__.py")
    other = "other " if allowed else ""
    print(
        f"client-check: {spec} generates a client ({operations} operations) without {other}warnings"
    )
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", type=Path, default=SPEC)
    parser.add_argument(
        "--output", type=Path, help=f"Keep the client here (as {PACKAGE}/); default: a temp dir."
    )
    args = parser.parse_args()
    if args.output:
        args.output.mkdir(parents=True, exist_ok=True)
        raise SystemExit(check(args.spec, args.output))
    with tempfile.TemporaryDirectory(prefix="minishop-client-") as tmp:
        raise SystemExit(check(args.spec, Path(tmp)))


if __name__ == "__main__":
    main()
