"""The carriers a shipment may name: stable codes (the ones Chinese logistics APIs use) and,
where the carrier publishes one, the format of its waybill numbers.

A carrier without a published format still gets the baseline check every waybill passes:
8 to 32 capital letters and digits. Codes never change once published; a carrier that stops
operating stays in the catalogue so that old shipments still name it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from app.domain.orders.errors import CarrierUnknown, WaybillInvalid

_BASELINE = re.compile(r"[A-Z0-9]{8,32}")


@dataclass(frozen=True)
class Carrier:
    code: str
    name: str
    name_en: str
    #: The published waybill format (a full match), when there is one.
    waybill_pattern: str | None = None
    #: What the format looks like, for the error a provider reads.
    waybill_example: str | None = None

    def check_waybill(self, waybill: str) -> str:
        """The waybill number, normalised (trimmed, upper case), or `WaybillInvalid`."""
        number = waybill.strip().upper()
        pattern = self.waybill_pattern
        if not _BASELINE.fullmatch(number) or (pattern and not re.fullmatch(pattern, number)):
            like = f" (like {self.waybill_example})" if self.waybill_example else ""
            raise WaybillInvalid(
                f"{waybill!r} is not a {self.name_en} waybill number{like}.",
                errors=[{"loc": ["waybill_no"], "msg": "waybill format", "type": "waybill"}],
                extra={"carrier": self.code},
            )
        return number


CARRIERS: tuple[Carrier, ...] = (
    Carrier("SF", "顺丰速运", "SF Express", r"SF\d{13}", "SF1234567890123"),
    Carrier("ZTO", "中通快递", "ZTO Express", r"\d{12,15}", "78123456789012"),
    Carrier("YTO", "圆通速递", "YTO Express", r"YT\d{13,15}", "YT1234567890123"),
    Carrier("STO", "申通快递", "STO Express", r"\d{12,15}", "773123456789012"),
    Carrier("YD", "韵达速递", "Yunda Express", r"\d{13}|\d{15}", "4312345678901"),
    Carrier("JD", "京东物流", "JD Logistics", r"JD[A-Z0-9]{11,14}", "JDVA12345678901"),
    Carrier("EMS", "中国邮政速递物流", "EMS", r"[A-Z]{2}\d{9}[A-Z]{2}|\d{13}", "EA123456789CN"),
    Carrier("YZPY", "邮政快递包裹", "China Post Parcel", r"[A-Z]{2}\d{9}[A-Z]{2}|\d{13}"),
    Carrier("JTSD", "极兔速递", "J&T Express", r"JT\d{13}", "JT1234567890123"),
    Carrier("DBL", "德邦快递", "Deppon Express", r"(DPK)?\d{10,12}", "DPK123456789012"),
    Carrier("HTKY", "百世快递", "Best Express", r"\d{12,14}", "551234567890"),
    Carrier("ZJS", "宅急送", "ZJS Express", r"\d{10}", "1234567890"),
    Carrier("FWX", "丰网速运", "Fengwang Express"),
    Carrier("OTHER", "其他快递", "Other carrier"),
)

_BY_CODE = {c.code: c for c in CARRIERS}


def carrier(code: str) -> Carrier:
    found = _BY_CODE.get(code)
    if found is None:
        raise CarrierUnknown(
            f"{code!r} is not a carrier code; GET /v1/logistics/carriers lists them.",
            errors=[{"loc": ["carrier"], "msg": "unknown carrier", "type": "carrier"}],
        )
    return found
