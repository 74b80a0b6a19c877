"""The background worker (`minishop worker`): one process type running webhook dispatch,
durable timers and housekeeping, and bulk jobs in a process of its own that it supervises
(`minishop bulk-worker`). Work tables are claimed with a lease through
`app.infra.db.claim.claim_with_lease`."""

from app.worker.bulk import bulk_worker
from app.worker.housekeeping import housekeeping
from app.worker.runner import run_bulk_jobs, run_worker

__all__ = ["bulk_worker", "housekeeping", "run_bulk_jobs", "run_worker"]
