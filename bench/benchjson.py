"""Every benchmark's JSON: its numbers plus what produced them (command, date, machine, load).

``bench/readme_table.py`` builds README's performance table from these files only, so each
figure there says which command measured it, when, and how busy the machine was.
"""

from __future__ import annotations

import json
import os
import platform
import shlex
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

OUT_DIR = Path(__file__).resolve().parent / "out"


def default_out(name: str) -> str:
    return str(OUT_DIR / f"{name}.json")


def write_result(path: str | Path, results: dict[str, Any], load_start: float | None = None) -> Path:
    """Write ``results`` with the command line (as run from the repository root), the date,
    the core count and the load average at the start and the end."""
    argv = [Path(sys.argv[0]).as_posix()] + sys.argv[1:]
    if "bench/" in argv[0]:
        argv[0] = "bench/" + argv[0].rsplit("bench/", 1)[1]
    machine = {"cores": os.cpu_count(), "platform": platform.platform(), "python": sys.version.split()[0],
               "load_average_start": load_start, "load_average_end": os.getloadavg()[0]}
    payload = {
        "command": "python3 " + shlex.join(argv),
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        **results,
        "machine": {**machine, **results.get("machine", {})},
    }
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(payload, indent=2), encoding="utf-8")
    print(f"wrote {out}")
    return out
