"""Tables: the shops' ledger (double-entry, appended only)."""

from __future__ import annotations

import sqlalchemy as sa

from app.domain.funds.ledger import Account, PostingKind
from app.infra.db.tables.base import ID, metadata
from app.infra.db.types import UTCDateTime, str_enum

ledger_entries = sa.Table(
    "ledger_entries",
    metadata,
    sa.Column("id", ID, nullable=False),
    sa.Column("shop_id", ID, sa.ForeignKey("shops.id", ondelete="CASCADE"), nullable=False),
    # The entries of one posting add up to zero.
    sa.Column("posting_id", ID, nullable=False),
    sa.Column("kind", str_enum(PostingKind, 16), nullable=False),
    sa.Column("account", str_enum(Account, 24), nullable=False),
    # Integer fen, signed.
    sa.Column("amount", sa.BigInteger, nullable=False),
    sa.Column("order_id", ID, nullable=False),
    sa.Column("payment_id", ID),
    sa.Column("refund_id", ID),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint("shop_id", "id"),
    sa.Index(None, "shop_id", "account"),
    sa.Index(None, "shop_id", "order_id"),
    sa.Index(None, "shop_id", "created_at", "id"),
)
