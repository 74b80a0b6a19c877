"""Peak memory of the processes a benchmark starts (Linux /proc)."""

from __future__ import annotations

import contextlib
import re
from pathlib import Path

MIB = 1024 * 1024


def peak_rss_mb(pid: int) -> float | None:
    """The peak RSS (VmHWM) of process `pid`, MiB; None once it is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    m = re.search(r"^VmHWM:\s+(\d+) kB", status, re.M)
    return round(int(m.group(1)) * 1024 / MIB, 1) if m else None


def workers_peak_rss_mb(pid: int) -> float | None:
    """The peak RSS of a `minishop worker` (`pid`) and of its children alive now (its bulk
    process), summed, MiB: what the worker costs, whichever of its processes runs a job."""
    children = []
    for entry in Path("/proc").iterdir():
        with contextlib.suppress(OSError, ValueError, IndexError):
            stat = (entry / "stat").read_text() if entry.name.isdigit() else ""
            if stat and int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                children.append(int(entry.name))
    own = peak_rss_mb(pid)
    if own is None:
        return None
    return round(own + sum(filter(None, (peak_rss_mb(c) for c in children))), 1)
