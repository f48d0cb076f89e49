"""Figures for the README's "Reliability" table: each test adds what it measured to one
JSON-lines file (RELIABILITY_FIGURES, default test-results/reliability.jsonl), which
`python -m tests.reliability.figures` sums up. Nothing here asserts: the tests do."""

from __future__ import annotations

import json
import os
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PATH = Path(os.environ.get("RELIABILITY_FIGURES", ROOT / "test-results" / "reliability.jsonl"))


def tally(kind: str, **data) -> None:
    PATH.parent.mkdir(parents=True, exist_ok=True)
    with PATH.open("a", encoding="utf-8") as out:
        out.write(json.dumps({"kind": kind, **data}, ensure_ascii=False, default=str) + "\n")


def summary(path: Path = PATH) -> dict:
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    by_kind: dict[str, list] = defaultdict(list)
    for row in rows:
        by_kind[row["kind"]].append(row)
    out = {}
    for kind, items in sorted(by_kind.items()):
        entry = {"rows": len(items)}
        if any("examples" in i for i in items):
            entry["examples"] = sum(i.get("examples", 0) for i in items)
        for name in ("operation", "scenario", "probe", "cell"):
            if any(name in i for i in items):
                entry[name + "s"] = len({i[name] for i in items if name in i})
        out[kind] = entry
    return out


if __name__ == "__main__":
    json.dump(summary(Path(sys.argv[1]) if len(sys.argv) > 1 else PATH), sys.stdout, indent=1)
    print()
