"""Field rules for shop names and qualification documents (pure functions)."""

from __future__ import annotations

import re
import unicodedata

from app.domain.errors import ValidationFailed

NAME_MIN, NAME_MAX = 2, 30
# Full-width brackets are common in Chinese shop names.
_NAME_EXTRA = set(" -_·&().'\uff08\uff09")
_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def normalize_shop_name(raw: str, loc: str = "body.name") -> str:
    name = unicodedata.normalize("NFC", raw).strip()
    name = re.sub(r"\s+", " ", name)
    if not NAME_MIN <= len(name) <= NAME_MAX:
        raise ValidationFailed.field(loc, f"A shop name has {NAME_MIN} to {NAME_MAX} characters.")
    for ch in name:
        if not (ch.isalnum() or ch in _NAME_EXTRA):
            raise ValidationFailed.field(
                loc, f"The character {ch!r} is not allowed in a shop name."
            )
    if name.isdigit():
        raise ValidationFailed.field(loc, "A shop name cannot be only digits.")
    return name


def uscc_check_char(first17: str) -> str:
    total = sum(_USCC_ALPHABET.index(c) * w for c, w in zip(first17, _USCC_WEIGHTS, strict=True))
    return _USCC_ALPHABET[(31 - total % 31) % 31]


def validate_licence_number(raw: str, loc: str = "body.licence_number") -> str:
    """Unified social credit code (18 chars, GB 32100-2015 check) or a legacy 15-digit number."""
    value = raw.strip().upper()
    if re.fullmatch(r"\d{15}", value):
        return value
    if len(value) != 18 or any(c not in _USCC_ALPHABET for c in value):
        raise ValidationFailed.field(
            loc, "Expected an 18-character unified social credit code or a 15-digit number."
        )
    if uscc_check_char(value[:17]) != value[17]:
        raise ValidationFailed.field(loc, "The check character of the credit code is wrong.")
    return value


def id_check_char(first17: str) -> str:
    return _ID_CHECK[sum(int(c) * w for c, w in zip(first17, _ID_WEIGHTS, strict=True)) % 11]


def validate_id_number(raw: str, loc: str = "body.operator.id_number") -> str:
    """18-digit resident identity number with its ISO 7064 MOD 11-2 check character."""
    value = raw.strip().upper()
    if not re.fullmatch(r"\d{17}[\dX]", value):
        raise ValidationFailed.field(loc, "Expected an 18-character resident identity number.")
    if id_check_char(value[:17]) != value[17]:
        raise ValidationFailed.field(loc, "The check character of the identity number is wrong.")
    return value


def validate_bank_account(raw: str, loc: str = "body.settlement.account_number") -> str:
    value = re.sub(r"[\s-]", "", raw)
    if not re.fullmatch(r"\d{8,30}", value):
        raise ValidationFailed.field(loc, "A bank account number has 8 to 30 digits.")
    return value


def mask_tail(value: str, keep: int = 4) -> str:
    if len(value) <= keep:
        return "*" * len(value)
    return "*" * (len(value) - keep) + value[-keep:]
