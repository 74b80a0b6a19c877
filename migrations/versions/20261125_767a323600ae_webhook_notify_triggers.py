"""webhook notify triggers

Revision ID: 767a323600ae
Revises: 6007009f466e
Create Date: 2026-11-25 20:25:00

On PostgreSQL, a new outbox event or a delivery that becomes due now wakes the webhook
workers (`LISTEN minishop_webhooks`) as soon as its transaction commits, instead of at their
next poll. SQLite has no NOTIFY: its worker polls.
"""

from collections.abc import Sequence

from alembic import op

revision: str = '767a323600ae'
down_revision: str | Sequence[str] | None = '6007009f466e'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        """
        CREATE FUNCTION minishop_webhooks_notify() RETURNS trigger AS $$
        BEGIN
            PERFORM pg_notify('minishop_webhooks', TG_TABLE_NAME);
            RETURN NULL;
        END;
        $$ LANGUAGE plpgsql
        """
    )
    op.execute(
        """
        CREATE TRIGGER outbox_events_notify AFTER INSERT ON outbox_events
        FOR EACH STATEMENT EXECUTE FUNCTION minishop_webhooks_notify()
        """
    )
    # Deliveries made outside the fan-out (a test ping) or queued again (redelivery).
    op.execute(
        """
        CREATE TRIGGER webhook_deliveries_notify
        AFTER INSERT OR UPDATE OF status, attempts ON webhook_deliveries
        FOR EACH ROW WHEN (NEW.status = 'pending' AND NEW.attempts = 0)
        EXECUTE FUNCTION minishop_webhooks_notify()
        """
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER IF EXISTS webhook_deliveries_notify ON webhook_deliveries")
    op.execute("DROP TRIGGER IF EXISTS outbox_events_notify ON outbox_events")
    op.execute("DROP FUNCTION IF EXISTS minishop_webhooks_notify()")
