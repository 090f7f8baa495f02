"""``make bench``: every part's speed and memory numbers, printed. One thread unless a part says so.

Each part exposes ``run() -> dict[str, float]`` that prints its own lines; this gathers them and
prints a summary. A part that is not built yet is reported as missing, not skipped silently.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import time
from pathlib import Path

PARTS: dict[str, str] = {
    "audio": "audio.bench",
    "renderer": "renderer.bench",
    "encoder": "renderer.encode",
    "model": "avatars.model.bench",
    "realtime": "tools.realtime_bench",
    "transports": "tools.transport_bench",
    "fuzz": "tools.fuzz",
    "sessions": "tools.session_bench",  # capacity through the real service (HTTP + WebSocket)
    "soak": "tools.session_soak",  # 6 sessions, 10 min, control endpoints fuzzed: 0 dead loops
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", choices=sorted(PARTS), action="append", help="run only these")
    parser.add_argument("--json", type=Path, default=Path("out/bench.json"))
    args = parser.parse_args(argv)

    import torch

    torch.set_num_threads(1)
    results: dict[str, dict[str, float]] = {}
    missing: list[str] = []
    for part in args.only or list(PARTS):
        try:
            module = importlib.import_module(PARTS[part])
        except ModuleNotFoundError as exc:
            if exc.name == PARTS[part]:
                missing.append(part)
                continue
            raise
        print(f"== {part} ==", flush=True)
        started = time.perf_counter()
        results[part] = module.run()
        print(f"({part}: {time.perf_counter() - started:.1f} s)\n", flush=True)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2))
    print(f"numbers written to {args.json}")
    if missing:
        print(f"not built yet: {', '.join(missing)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
