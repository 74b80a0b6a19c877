"""Tables: a shop's freight templates (`app/domain/orders/freight.py`)."""

from __future__ import annotations

import sqlalchemy as sa

from app.domain.orders.freight import Valuation
from app.infra.db.tables.base import ID, metadata, timestamps
from app.infra.db.types import JSONType, str_enum

freight_templates = sa.Table(
    "freight_templates",
    metadata,
    sa.Column("id", ID, nullable=False),
    sa.Column("shop_id", ID, sa.ForeignKey("shops.id", ondelete="CASCADE"), nullable=False),
    sa.Column("name", sa.String(60), nullable=False),
    sa.Column("valuation", str_enum(Valuation, 16), nullable=False),
    # The rules as plain values (`FreightTemplate.rules()`): read whole with the template, so
    # the order's offers read carries a template in one join.
    sa.Column("default_rate", JSONType, nullable=False),
    sa.Column("rates", JSONType, nullable=False),
    sa.Column("free_shipping", JSONType, nullable=False),
    sa.Column("not_delivered", JSONType, nullable=False),
    sa.Column("is_default", sa.Boolean, nullable=False, server_default=sa.false()),
    *timestamps(),
    sa.Column("version", sa.Integer, nullable=False),
    sa.PrimaryKeyConstraint("shop_id", "id"),
    sa.Index(None, "shop_id", "name", "id"),
    # One default per shop.
    sa.Index(
        "uq_freight_templates_shop_id_default",
        "shop_id",
        unique=True,
        postgresql_where=sa.text("is_default"),
        sqlite_where=sa.text("is_default"),
    ),
)
