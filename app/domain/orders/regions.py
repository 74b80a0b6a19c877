"""GB/T 2260 administrative division codes, for buyers' addresses.

The table (`data/gb2260.json`, code → name) is the National Bureau of Statistics' list of
2014-01-16 (divisions as of 2013-08-31), taken from the BSD-licensed GB2260.py 0.4.1; a newer
list replaces the file. An address names its most precise division: a district or county
(`440305`, 南山区), a city that has none under it (`441900`, 东莞市), or a province-level
region the table does not divide (`810000`, 香港特别行政区). Its province is the
first two digits: what a product's sellable regions list.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from app.domain.orders.errors import RegionUnknown

_DATA = Path(__file__).parent / "data" / "gb2260.json"


@dataclass(frozen=True)
class Region:
    code: str
    province: str
    province_name: str
    city: str | None
    city_name: str | None
    district_name: str

    @property
    def province_code(self) -> str:
        """The two-digit code products' sellable regions use."""
        return self.code[:2]


@cache
def _table() -> dict[str, str]:
    table: dict[str, str] = json.loads(_DATA.read_text(encoding="utf-8"))
    return table


#: Statistical groupings the table lists as codes but nobody lives at: "the city's districts"
#: (`440301`), "the province's directly administered counties" (`429000`)...
_GROUPINGS = frozenset({"市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划"})


@cache
def _leaves() -> frozenset[str]:
    table = _table()
    parents = {c[:2] + "0000" for c in table if not c.endswith("0000")}
    parents |= {c[:4] + "00" for c in table if not c.endswith("00")}
    return frozenset(c for c, name in table.items() if c not in parents and name not in _GROUPINGS)


def region(code: str) -> Region:
    """The division `code` names, or `RegionUnknown` for anything but a leaf of the table."""
    table = _table()
    if code not in _leaves():
        raise RegionUnknown(
            f"{code!r} is not a GB/T 2260 district or county code (six digits, e.g. 440305).",
            errors=[{"loc": ["region_code"], "msg": "unknown region code", "type": "region"}],
        )
    province = code[:2] + "0000"
    city = code[:4] + "00"
    has_city = city not in (code, province) and city in table and table[city] not in _GROUPINGS
    return Region(
        code=code,
        province=province,
        province_name=table[province],
        city=city if has_city else None,
        city_name=table[city] if has_city else None,
        district_name=table[code],
    )


def is_region(code: str) -> bool:
    return code in _leaves()


def is_area(code: str) -> bool:
    """A province (`44`) or city (`4403`) a freight rule may name: the table lists it."""
    table = _table()
    if len(code) == 2:
        return code + "0000" in table
    return len(code) == 4 and code + "00" in table and table[code + "00"] not in _GROUPINGS
