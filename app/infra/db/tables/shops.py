"""Tables: Shops, their qualification files and their members."""

from __future__ import annotations

import sqlalchemy as sa

from app.domain.shops.model import ShopStatus, SubjectType
from app.domain.shops.permissions import Role
from app.infra.db.tables.base import ID, metadata, timestamps
from app.infra.db.types import UTCDateTime, str_enum

shops = sa.Table(
    "shops",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("name", sa.String(64), nullable=False),
    sa.Column("subject_type", str_enum(SubjectType, 16), nullable=False),
    sa.Column("status", str_enum(ShopStatus, 32), nullable=False),
    sa.Column("logo_url", sa.String(2048)),
    sa.Column("rejection_reason", sa.String(500)),
    sa.Column("suspended_at", UTCDateTime()),
    sa.Column("suspension_reason", sa.String(500)),
    sa.Column("submitted_at", UTCDateTime()),
    sa.Column("reviewed_at", UTCDateTime()),
    sa.Column("opened_at", UTCDateTime()),
    sa.Column("created_by", ID, sa.ForeignKey("accounts.id"), nullable=False),
    # The flat freight of its orders (fen), waived from `free_shipping_from` when set.
    sa.Column("freight_fee", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("free_shipping_from", sa.BigInteger),
    *timestamps(),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Index(None, "status", "submitted_at", "id"),
)


shop_qualifications = sa.Table(
    "shop_qualifications",
    metadata,
    sa.Column("shop_id", ID, sa.ForeignKey("shops.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("licence_number", sa.String(18), nullable=False),
    sa.Column("registered_name", sa.String(128), nullable=False),
    sa.Column("licence_image_url", sa.String(2048), nullable=False),
    sa.Column("operator_name", sa.String(64), nullable=False),
    sa.Column("operator_id_number_encrypted", sa.Text, nullable=False),
    sa.Column("operator_id_number_last4", sa.String(4), nullable=False),
    sa.Column("bank_account_name", sa.String(128), nullable=False),
    sa.Column("bank_name", sa.String(128), nullable=False),
    sa.Column("bank_account_number_encrypted", sa.Text, nullable=False),
    sa.Column("bank_account_number_last4", sa.String(4), nullable=False),
    sa.Column("submitted_by", ID, sa.ForeignKey("accounts.id"), nullable=False),
    sa.Column("submitted_at", UTCDateTime(), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
)


shop_members = sa.Table(
    "shop_members",
    metadata,
    sa.Column("shop_id", ID, sa.ForeignKey("shops.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("account_id", ID, sa.ForeignKey("accounts.id"), primary_key=True),
    sa.Column("role", str_enum(Role, 32), nullable=False),
    sa.Column("added_by", ID, sa.ForeignKey("accounts.id")),
    *timestamps(),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Index(None, "account_id", "role"),
)
