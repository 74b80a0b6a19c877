"""How `make test` splits the suite between xdist workers (`--dist loadfile`, with the
scheduler tests/conftest.py installs): whole modules, as loadfile does, except that the modules
of a group go to one worker together, and the slowest units are handed out first.

Groups are modules sharing a session fixture that starts a server: with the group on one
worker, the server starts once, not once on every worker that runs one of the modules.
(xdist's own `--dist loadgroup` cannot do this here: with pytest 9 its `xdist_group` marks
are ignored and every test is sent on its own, a module's tests over several workers.)

The slowest first: xdist hands units out in collection order as workers free up, and one of
these handed out last would keep a worker busy long after the others ran out of work.
"""

from __future__ import annotations

from typing import Any

#: The modules sharing the `demo_server` fixture (tests/conftest.py).
DEMO_SERVER = "demo_server"
GROUPS = {
    "tests/test_serve_port.py": DEMO_SERVER,
    "tests/test_oauth_e2e.py": DEMO_SERVER,
    "tests/test_oauth_browser.py": DEMO_SERVER,
    "tests/test_browser_docs.py": DEMO_SERVER,
}

#: The units that take longest, slowest first, with the seconds each took in one run of
#: `make test` on an idle machine (most start servers, workers or a browser and wait on them).
SLOWEST_FIRST = (
    DEMO_SERVER,  # (about 50: four modules)
    "tests/test_server_process.py",  # (34)
    "tests/test_bulk_uploads_live.py",  # (30)
    "tests/test_webhook_workers.py",  # (29)
    "tests/test_worker_bulk_process.py",  # (23)
    "tests/test_malformed.py",  # (22)
    "tests/test_orders_live.py",  # (21)
    "tests/test_idempotency_crash.py",  # (19)
    "tests/test_bulk_export_shopify.py",  # (17)
    "tests/test_accounts.py",  # (13)
    "tests/test_webhooks.py",  # (13)
    "tests/test_timer_workers.py",  # (12)
    "tests/test_provider_enforcement.py",  # (11)
    "tests/test_cross_shop_matrix.py",  # (10)
    "tests/test_serve_signals.py",  # (10)
    "tests/test_http_exposure.py",  # (9)
    "tests/test_browser_login.py",  # (8)
    "tests/test_cli.py",  # (8)
    "tests/test_buyer_token_housekeeping.py",  # (7)
    "tests/test_generated_client.py",  # (7)
)
_RANK = {name: i for i, name in enumerate(SLOWEST_FIRST)}


def unit(nodeid: str) -> str:
    """The unit a test is sent to a worker in: its module's group, else its module."""
    module = nodeid.split("::", 1)[0]
    return GROUPS.get(module, module)


def rank(nodeid: str) -> int:
    """Where the test's unit comes in the collection: the slowest first, the rest after."""
    return _RANK.get(unit(nodeid), len(_RANK))


def scheduler(config: Any, log: Any) -> Any:
    """loadfile's scheduling over these units (xdist is imported only when it schedules)."""
    from xdist.scheduler import LoadFileScheduling

    class UnitScheduling(LoadFileScheduling):  # type: ignore[misc]
        def _split_scope(self, nodeid: str) -> str:
            return unit(nodeid)

    return UnitScheduling(config, log)
