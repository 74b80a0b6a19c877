"""Atomic idempotency against a real crash: the server process dies between committing a
request's change and answering it; the retry with the same key, on a new process, replays the
committed response and the change exists once. (When the key, the change and the response
were three transactions, the retry found the key "in progress" and, once its lock ran out,
ran the request a second time.)"""

from __future__ import annotations

import secrets

import httpx
import pytest

from tests.live_server import live_server, serving

FAULT = "POST /merchant/shops"


def _login(base_url: str, username: str, password: str) -> tuple[httpx.Client, dict[str, str]]:
    client = httpx.Client(base_url=base_url, timeout=30)
    r = client.post("/auth/login", json={"username": username, "password": password})
    assert r.status_code == 200, r.text
    return client, {"X-CSRF-Token": r.json()["csrf_token"]}


def _shop_names(client: httpx.Client) -> list[str]:
    r = client.get("/merchant/shops", params={"limit": 100})
    assert r.status_code == 200, r.text
    return [s["name"] for s in r.json()["data"]]


def test_a_crash_after_the_commit_replays_on_retry(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    name = f"Crash {secrets.token_hex(4)}"
    body = {"name": name, "subject_type": "enterprise"}
    key = {"Idempotency-Key": f"ik-{secrets.token_hex(12)}"}
    with live_server(tmp_path_factory, {"MINISHOP_FAULT_EXIT_AFTER_COMMIT": FAULT}) as server:
        merchant = server.demo["merchant"]
        client, csrf = _login(server.base_url, merchant["username"], merchant["password"])
        with pytest.raises(httpx.TransportError):
            # The process exits after the commit: no answer comes.
            client.post("/merchant/shops", json=body, headers={**csrf, **key})
        client.close()

        env = {k: v for k, v in server.env.items() if k != "MINISHOP_FAULT_EXIT_AFTER_COMMIT"}
        with serving(env, server.listen, server.base_url, server.log):
            # A new session of the same account: its keys are the account's.
            client, csrf = _login(server.base_url, merchant["username"], merchant["password"])
            try:
                r = client.post("/merchant/shops", json=body, headers={**csrf, **key})
                assert r.status_code == 201, r.text
                assert r.headers["idempotent-replayed"] == "true"
                assert r.json()["name"] == name
                again = client.post("/merchant/shops", json=body, headers={**csrf, **key})
                assert again.json() == r.json()
                assert _shop_names(client).count(name) == 1
            finally:
                client.close()
