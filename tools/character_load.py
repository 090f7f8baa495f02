"""How long a node takes to load a character another node made, through shared storage:

- cold: the files are not on this node yet (fetched from storage into its cache, then parsed);
- warm (disk): a new process on a node that fetched them before (parsed from its cache);
- warm (memory): the same process again (its in-memory cache).

    python -m tools.character_load --database-url postgresql://... --storage-url s3://...?endpoint=...

Uses ``VISAVIS_*`` from the environment for what is not given; each repetition uses fresh data
folders so every cold load really fetches.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np


def _ms(start: float) -> float:
    return 1000.0 * (time.perf_counter() - start)


def measure(database_url: str | None, storage_url: str | None, repeats: int) -> dict[str, float]:
    from skimage import data

    from service.settings import load_settings
    from service.storage import open_storage

    root = Path(tempfile.mkdtemp(prefix="visavis-load-"))

    def node(name: str):  # type: ignore[no-untyped-def]
        settings = load_settings(data_dir=root / name, database_url=database_url,
                                 storage_url=storage_url)  # fmt: skip
        return open_storage(settings)

    maker = node("maker")
    record = maker.characters.create(np.ascontiguousarray(data.astronaut()), name="a", owner="bench")
    maker.close()
    times: dict[str, list[float]] = {"cold_ms": [], "warm_disk_ms": [], "warm_memory_ms": []}
    for n in range(repeats):
        first = node(f"node{n}")
        start = time.perf_counter()
        first.characters.load(record.id)
        times["cold_ms"].append(_ms(start))
        start = time.perf_counter()
        first.characters.load(record.id)
        times["warm_memory_ms"].append(_ms(start))
        first.close()
        again = node(f"node{n}")  # the same folder: what a restarted process finds
        start = time.perf_counter()
        again.characters.load(record.id)
        times["warm_disk_ms"].append(_ms(start))
        again.close()
    cleanup = node("maker")
    cleanup.characters.delete(record.id)
    cleanup.close()
    return {name: statistics.median(values) for name, values in times.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=None, help="default: VISAVIS_DATABASE_URL")
    parser.add_argument("--storage-url", default=None, help="default: VISAVIS_STORAGE_URL")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    result = measure(args.database_url, args.storage_url, args.repeats)
    print("character load, median of", args.repeats, ":",
          ", ".join(f"{name} {value:.1f}" for name, value in result.items()))  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
