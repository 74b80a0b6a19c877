"""Logistics in tests: a carrier account's and a sender address's request bodies."""

from __future__ import annotations

from typing import Any

SECRET = "sk_sandbox_5f3c9a1d7e1d"
KEY = "SFPARTNER0142"


def account_body(**overrides: Any) -> dict[str, Any]:
    body = {"carrier": "SF", "customer_code": "7551234567", "key": KEY, "secret": SECRET}
    body.update(overrides)
    return body


def address_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "张伟",
        "phone": "138 0013 8000",
        "region_code": "440305",
        "detail": "科技园南区深南大道10000号 2栋 1801",
    }
    body.update(overrides)
    return body


def template_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "按件",
        "valuation": "piece",
        "default_rate": {
            "first_units": 1,
            "first_price": 1000,
            "additional_units": 1,
            "additional_price": 300,
        },
        "rates": [
            {
                "regions": ["4403"],
                "first_units": 1,
                "first_price": 500,
                "additional_units": 2,
                "additional_price": 100,
            }
        ],
        "free_shipping": [{"min_pieces": 5, "regions": ["31"]}],
        "not_delivered": ["54", "65"],
    }
    body.update(overrides)
    return body
