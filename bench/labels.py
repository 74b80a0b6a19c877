"""The label benchmark: 500 shipping labels printed into one PDF, time and peak memory.

    make bench                                  # runs it after the others (no database needed)
    .venv/bin/python -m bench.labels            # alone: merges its row into latest.json
    .venv/bin/python -m bench.labels --labels 2000 --no-results  # how memory grows

The labels are rendered in a fresh process that first imports what `minishop worker` imports
(the batch job will run there), so its peak RSS (VmHWM) is the worker's baseline plus the
batch's cost; both are reported. What is timed: opening the book (parsing the CJK font), drawing
every page and writing the file (subsetting the font). The labels are varied (Chinese names
and addresses drawn from a seeded pool, 15-character waybill numbers), so the font subset
holds a realistic few hundred glyphs.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "latest.json"
LABELS = 500
TARGET_SECONDS = 5.0
TARGET_RSS_MB = 200.0

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂华建国志红晓东海燕玉梅子涵浩然欣怡"
PLACES = [
    ("北京市", "朝阳区", "建国路"),
    ("上海市", "浦东新区", "世纪大道"),
    ("广东省广州市", "天河区", "体育西路"),
    ("广东省深圳市", "南山区", "科技园南区高新南七道"),
    ("浙江省杭州市", "西湖区", "文三路"),
    ("四川省成都市", "武侯区", "人民南路四段"),
    ("湖北省武汉市", "洪山区", "珞喻路"),
    ("陕西省西安市", "雁塔区", "小寨东路"),
    ("江苏省南京市", "鼓楼区", "中山北路"),
    ("新疆维吾尔自治区乌鲁木齐市", "天山区", "解放南路"),
]
GOODS = ["有机绿茶 250g", "紫砂茶杯", "竹制茶盘（大号）", "手工皂 3 块装", "羊毛围巾", "蓝牙耳机"]


def labels(n: int) -> list[Any]:
    from app.infra.logistics.labels import Label

    rnd = random.Random(15)
    start = datetime(2026, 12, 7, 1, 0, tzinfo=UTC)

    def person() -> str:
        return rnd.choice(SURNAMES) + "".join(rnd.choices(GIVEN, k=rnd.choice((1, 2))))

    def address() -> str:
        province, district, road = rnd.choice(PLACES)
        return (
            f"{province}{district}{road} {rnd.randint(1, 999)} 号"
            f"{rnd.choice('ABCDEFG')} 座 {rnd.randint(1, 30)}{rnd.randint(1, 20):02d} 室"
        )

    return [
        Label(
            waybill_no=f"SF{rnd.randint(10**12, 10**13 - 1)}",
            carrier_code="sf",
            carrier_name="顺丰速运",
            sender_name="杭州小铺旗舰店",
            sender_phone="0571-88886666",
            sender_address="浙江省杭州市西湖区文三路 478 号华星时代广场 A 座 1203 室",
            receiver_name=person(),
            receiver_phone=f"1{rnd.choice('3589')}{rnd.randint(10**8, 10**9 - 1)}",
            receiver_address=address(),
            order_id=f"ord_{rnd.getrandbits(64):016x}",
            summary="；".join(
                f"{g} ×{rnd.randint(1, 3)}" for g in rnd.sample(GOODS, rnd.randint(1, 4))
            ),
            created_at=start + timedelta(seconds=i * 7),
        )
        for i in range(n)
    ]


def _status_mb(field: str) -> float:
    m = re.search(rf"^{field}:\s+(\d+) kB", Path("/proc/self/status").read_text(), re.M)
    return round(int(m.group(1)) / 1024, 1) if m else float("nan")


def child(n: int, out: Path) -> dict[str, Any]:
    import app.worker  # noqa: F401  (the worker's baseline)
    from app.infra.logistics.labels import LabelBook

    batch = labels(n)
    baseline = _status_mb("VmHWM")
    started = time.perf_counter()
    book = LabelBook()
    opened = time.perf_counter()
    book.extend(batch)
    drawn = time.perf_counter()
    with out.open("wb") as f:
        book.write(f)
    done = time.perf_counter()
    return {
        "labels": n,
        "pages": book.pages,
        "seconds": round(done - started, 3),
        "font_seconds": round(opened - started, 3),
        "draw_seconds": round(drawn - opened, 3),
        "write_seconds": round(done - drawn, 3),
        "rss_mb": _status_mb("VmHWM"),
        "baseline_rss_mb": baseline,
        "file_mb": round(out.stat().st_size / 2**20, 2),
    }


def measure(n: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="minishop-bench-labels-") as tmp:
        out = Path(tmp) / "labels.pdf"
        proc = subprocess.run(
            [sys.executable, "-m", "bench.labels", "--child", str(n), "--out", str(out)],
            cwd=ROOT,
            check=True,
            capture_output=True,
            text=True,
        )
    return dict(json.loads(proc.stdout.splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--labels", type=int, default=LABELS)
    parser.add_argument("--no-results", action="store_true", help="do not touch latest.json")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        print(json.dumps(child(args.child, args.out)))
        return

    load_before = round(os.getloadavg()[0], 2)
    r = measure(args.labels)
    ok = (
        r["pages"] == args.labels
        and r["seconds"] <= TARGET_SECONDS
        and r["rss_mb"] <= TARGET_RSS_MB
    )
    row = {
        "name": f"label-batch-{args.labels}",
        "rps": round(args.labels / r["seconds"], 1),
        "p50_ms": None,
        "p99_ms": None,
        "rss_mb": r["rss_mb"],
        "ratio_to_floor": None,
        "target": f"{LABELS} labels into one PDF in <= {TARGET_SECONDS:g} s, "
        f"peak RSS <= {TARGET_RSS_MB:g} MiB",
        "ok": ok,
        **{k: v for k, v in r.items() if k != "rss_mb"},
        "loadavg_1m_before": load_before,
        "loadavg_1m_after": round(os.getloadavg()[0], 2),
        "note": "rps = labels per second; rss_mb = peak RSS (VmHWM) of a process that imported "
        "what the worker imports (baseline_rss_mb) and then printed the batch",
    }
    print(json.dumps(row, indent=2))
    if not args.no_results and args.labels == LABELS:
        from bench.orders import merge

        merge(RESULTS, [row])
        print(f"merged into {RESULTS.relative_to(ROOT)}")
    if not ok:
        sys.exit(1)


if __name__ == "__main__":
    main()
