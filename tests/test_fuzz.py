"""The Schemathesis guard: every operation of the committed spec, fuzzed against a real server.

A seeded server process (`migrate`, `seed-demo`, `serve` on a free loopback port, see
`tests/live_server.py`); the demo merchant authorizes
the demo app on the personal shop with every scope (authorization code + PKCE), another
merchant registers and opens a shop (session cookie + CSRF token), and the demo buyer logs in
on the storefront (a buyer's bearer token). Schemathesis
(`st run`) then sends generated requests to every operation of `openapi/openapi.json`, with
the credentials each operation's `security` names, and checks: no 5xx, and status code,
content type, headers and body conform to the spec.

Skipped unless `MINISHOP_FUZZ` is set, so the suite stays fast:
- `MINISHOP_FUZZ=ci`: bounded (a few examples per operation, a time budget), in `.ci/run`;
- `MINISHOP_FUZZ=long` (`make fuzz`): many more examples, stateful phase included.
`MINISHOP_FUZZ_ARGS` adds `st run` options (e.g. `--seed 1 --include-operation-id getProduct`).
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.api.deps import SESSION_COOKIE
from tests import factories as f
from tests.factories import User, login
from tests.live_server import REPO, LiveServer, live_server
from tests.oauth_support import AppCreds, get_code

MODE = os.environ.get("MINISHOP_FUZZ", "")
pytestmark = pytest.mark.skipif(not MODE, reason="set MINISHOP_FUZZ=ci or long (make fuzz)")

SPEC = REPO / "openapi" / "openapi.json"
HOOKS = "tests.fuzz_hooks"

#: `st run` options per mode: examples per operation and the time budget (seconds).
PROFILES: dict[str, list[str]] = {
    "ci": [
        "--max-examples=12",
        "--max-time=200",
        "--phases=examples,coverage,fuzzing",
        "--seed=20261202",
        # With a dozen examples, an operation whose schema rejects most generated values
        # (an id path parameter's pattern, say) trips Hypothesis's generation-efficiency
        # check: a limit of the generator, not a finding about the API.
        "--suppress-health-check=filter_too_much",
    ],
    "long": [
        "--max-examples=300",
        "--max-time=3600",
        "--phases=examples,coverage,fuzzing,stateful",
    ],
}

CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_headers_conformance",
        "response_schema_conformance",
    ]
)

#: Operations not fuzzed, and why. Everything else in the spec is.
EXCLUDED_OPERATIONS = {
    # Ends the very session the other operations are fuzzed with.
    "logout",
}

#: The server under test: limits that would answer 429 to the fuzzer's pace are lifted
#: (429 itself is declared and conformant, but it would hide every operation behind it).
SERVER_SETTINGS = {
    "MINISHOP_RATE_LIMIT_BURST": "1000000",
    "MINISHOP_RATE_LIMIT_PER_SECOND": "1000000",
    "MINISHOP_LOGIN_ATTEMPTS_PER_IP": "1000000",
    "MINISHOP_LOGIN_ATTEMPTS_PER_ACCOUNT": "1000000",
    "MINISHOP_AUTO_APPROVE_REVIEWS": "true",
    # The buyer's access token must outlive the long run (an hour), as the provider's does.
    "MINISHOP_BUYER_TOKEN_SECONDS": "86400",
    # Known to the hooks too, which sign the payment gateway's callback with it
    # (tests/fuzz_hooks.py): the callback is fuzzed past its signature check.
    "MINISHOP_SANDBOX_PAYMENT_SECRET": "fuzz-sandbox-secret-2f8c1e",
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with live_server(tmp_path_factory, SERVER_SETTINGS) as s:
        yield s


async def credentials(server: LiveServer) -> dict[str, str]:
    """The demo app's access token with every scope, for the demo merchant's personal shop, and
    the session of another merchant: the fuzzer reaches real ids through the responses it
    reads, and the shop's own merchant would sooner or later revoke the app's authorization
    (as it may), leaving every provider operation after it at 401."""
    demo: dict[str, Any] = server.demo
    async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as client:
        owner = demo["merchant"]
        csrf = await login(client, username=owner["username"], password=owner["password"])
        user = User(client, owner["account_id"], owner["username"], owner["password"], csrf)
        app = demo["app"]
        creds = AppCreds(
            developer=user,
            id=app["app_id"],
            client_id=app["client_id"],
            client_secret=app["client_secret"],
            redirect_uri=app["redirect_uri"],
            body={"scopes": app["scopes"]},
        )
        code, verifier = await get_code(user, creds, shop_id=demo["shops"]["personal"]["id"])
    # A client of its own: the token endpoint takes client credentials, not a cookie.
    async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as client:
        r = await client.post(
            "/oauth/token",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": creds.redirect_uri,
                "code_verifier": verifier,
            },
            auth=(creds.client_id, creds.client_secret),
        )
        assert r.status_code == 200, r.text
        assert sorted(r.json()["scope"].split()) == sorted(app["scopes"])
        token = r.json()["access_token"]
    async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as client:
        merchant = await f.user(client)
        await f.open_shop(merchant)
        session = client.cookies.get(SESSION_COOKIE)
        assert session, "no session cookie after login"
    async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as client:
        buyer = await f.buyer_token(
            client, username=demo["buyer"]["username"], password=demo["buyer"]["password"]
        )
    return {
        "token": token,
        "session": session,
        "csrf": merchant.csrf,
        "buyer": buyer["access_token"],
    }


def config_file(path: Path, creds: dict[str, str]) -> Path:
    """OpenAPI-aware auth: each operation gets what its `security` names."""
    path.write_text(
        "\n".join(
            [
                "[cache]",
                # Crashes found are kept for `st replay`, out of the source tree.
                f"directory = {json.dumps(str(REPO / 'var' / 'schemathesis'))}",
                "[auth.openapi.providerOAuth]",
                f"bearer = {json.dumps(creds['token'])}",
                "[auth.openapi.sessionCookie]",
                f"api_key = {json.dumps(creds['session'])}",
                "[auth.openapi.csrfToken]",
                f"api_key = {json.dumps(creds['csrf'])}",
                "[auth.openapi.buyerBearer]",
                f"bearer = {json.dumps(creds['buyer'])}",
                "",
            ]
        )
    )
    return path


async def test_every_operation_conforms_to_the_spec(server: LiveServer, tmp_path: Path) -> None:
    creds = await credentials(server)
    config = config_file(tmp_path / "schemathesis.toml", creds)
    report = tmp_path / "report"
    command = [
        str(Path(sys.executable).with_name("st")),
        "--config-file",
        str(config),
        "run",
        str(SPEC),
        f"--url={server.base_url}",
        f"--checks={CHECKS}",
        "--workers=1",
        "--request-timeout=30",
        "--output-truncate=true",
        f"--report-dir={report}",
        *[f"--exclude-operation-id={op}" for op in sorted(EXCLUDED_OPERATIONS)],
        *PROFILES[MODE],
        *shlex.split(os.environ.get("MINISHOP_FUZZ_ARGS", "")),
    ]
    env = {
        **os.environ,
        "SCHEMATHESIS_HOOKS": HOOKS,
        "PYTHONPATH": str(REPO),
        "MINISHOP_SANDBOX_PAYMENT_SECRET": SERVER_SETTINGS["MINISHOP_SANDBOX_PAYMENT_SECRET"],
    }
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, check=False)
    output = done.stdout + done.stderr
    print(output)
    assert done.returncode == 0, output[-20000:]
    log = server.log.read_text()
    assert "Traceback" not in log, log[-5000:]
    # The credentials outlived the run, so every operation was reached with them.
    async with httpx.AsyncClient(
        base_url=server.base_url, timeout=30, cookies={SESSION_COOKIE: creds["session"]}
    ) as client:
        r = await client.get("/v1/shop", headers={"Authorization": f"Bearer {creds['token']}"})
        assert r.status_code == 200, r.text
        r = await client.get("/auth/me")
        assert r.status_code == 200, r.text
        r = await client.get(
            "/v1/storefront/addresses", headers={"Authorization": f"Bearer {creds['buyer']}"}
        )
        assert r.status_code == 200, r.text
