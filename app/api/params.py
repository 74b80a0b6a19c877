"""Parameters shared by the routers, documented once: a description and an example."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import Path

from app.api.schemas.apps import APP_ID_EXAMPLE
from app.api.schemas.products import PRODUCT_EXAMPLE
from app.api.schemas.shops import ACCOUNT_ID_EXAMPLE, SHOP_ID_EXAMPLE
from app.domain.errors import ValidationFailed

#: Ids are short opaque strings; anything longer is not one of ours.
MAX_ID_LENGTH = 64

ShopIdPath = Annotated[
    str,
    Path(
        description="The shop's id (`shop_…`).",
        examples=[SHOP_ID_EXAMPLE],
        min_length=1,
        max_length=MAX_ID_LENGTH,
    ),
]
AccountIdPath = Annotated[
    str,
    Path(
        description="The member's account id (`acct_…`).",
        examples=[ACCOUNT_ID_EXAMPLE],
        min_length=1,
        max_length=MAX_ID_LENGTH,
    ),
]
AppId = Annotated[
    str,
    Path(max_length=40, description="The app's id.", examples=[APP_ID_EXAMPLE]),
]
ProductId = Annotated[
    str, Path(max_length=40, description="The product's id.", examples=[PRODUCT_EXAMPLE])
]
QualificationId = Annotated[
    str,
    Path(
        max_length=40,
        description="The qualification's id.",
        examples=["iq_01jd8m3k2x9v7q4w5e6r7t8y9z"],
    ),
]


def require_zone(**times: datetime | None) -> None:
    """Time filters name their zone (`Z` or an offset): a naive time is a 422 naming it."""
    for name, value in times.items():
        if value is not None and value.tzinfo is None:
            raise ValidationFailed.field(
                f"query.{name}", "Give a time zone, e.g. 2026-11-25T08:00:00Z."
            )
