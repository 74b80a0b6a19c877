"""Path parameters shared by the routers, documented once: a description and an example."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path

from app.api.v1.schemas.shops import ACCOUNT_ID_EXAMPLE, SHOP_ID_EXAMPLE

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
