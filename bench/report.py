"""The common shape of every benchmark's output: readable lines, then one line of JSON."""

from __future__ import annotations

import json
import platform
import sys
from typing import Any


def figure(value: float, unit: str, goal: str | None = None, **extra: Any) -> dict[str, Any]:
    """Return one figure of the final JSON line."""
    item: dict[str, Any] = {"value": round(value, 4), "unit": unit}
    if goal is not None:
        item["goal"] = goal
    item.update(extra)
    return item


def say(text: str) -> None:
    """Print a readable line (flushed: benchmarks run for a while)."""
    print(text, flush=True)


def finish(name: str, figures: dict[str, dict[str, Any]]) -> None:
    """Print the final JSON line."""
    line = {
        "benchmark": name,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "figures": figures,
    }
    sys.stdout.write(json.dumps(line, ensure_ascii=False) + "\n")
