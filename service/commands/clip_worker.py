"""``visavis clip-worker``: take clip jobs from the shared queue (PostgreSQL) and render them.

It reads the same ``VISAVIS_*`` settings as the API nodes (database, storage, queue, device), so
a job submitted to any node is rendered by whichever worker is free. SIGTERM or Ctrl-C puts the
jobs it is rendering back in the queue (at their next frame) and exits; a worker killed outright
is noticed by the others after ``VISAVIS_CLIP_STALL_SECONDS``, and its jobs rendered again.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
from pathlib import Path
from typing import Any

HELP = "render clip jobs from the shared queue (same VISAVIS_* settings as the API)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--concurrency", type=int, default=None,
                        help="clips rendered at once (default: VISAVIS_CLIP_WORKERS, at least 1)")  # fmt: skip
    parser.add_argument("--metrics-port", type=int, default=None,
                        help="port of /metrics and /healthz (default: VISAVIS_METRICS_PORT; "
                        "0: a free one; unset: none)")  # fmt: skip
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="this worker's scratch and cache folder (default: VISAVIS_DATA_DIR)")  # fmt: skip


def run(args: argparse.Namespace) -> int:
    from service.clips import queue_url
    from service.observe.logs import configure_logging
    from service.settings import load_settings

    settings = load_settings(data_dir=args.data_dir, metrics_port=args.metrics_port)
    configure_logging(level=settings.log_level, fmt=settings.log_format)
    url = queue_url(settings)
    if url is None:
        raise ValueError("a clip worker needs the shared queue: set VISAVIS_DATABASE_URL (or "
                         "VISAVIS_QUEUE_URL) to a postgresql://... database")  # fmt: skip
    concurrency = args.concurrency if args.concurrency is not None else max(settings.clip_workers, 1)
    if not 1 <= concurrency <= 64:
        raise ValueError(f"--concurrency must be 1..64, got {concurrency}")
    asyncio.run(_serve(settings, url, concurrency))
    return 0


async def _serve(settings: Any, url: str, concurrency: int) -> None:
    import logging

    from service.clips.open import renderer_for
    from service.clips.pgqueue import PostgresQueue
    from service.clips.render import worker_name
    from service.observe.probe import ProbeServer
    from service.realtime.parts import import_parts
    from service.storage import open_storage

    log = logging.getLogger("service.clip_worker")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    storage = await asyncio.to_thread(open_storage, settings)
    renderer = renderer_for(settings, storage)
    queue = PostgresQueue(url=url, renderer=renderer, stall_seconds=settings.clip_stall_seconds)
    probe = None
    try:
        await queue.open()
        await asyncio.to_thread(import_parts)  # torch and the model before the first job
        name = worker_name()

        def health() -> dict[str, Any]:
            alive = queue.working == 2  # the worker and the reaper
            return {"status": "ok" if alive else "failing", "worker": name,
                    "rendering": renderer.running, "concurrency": concurrency}  # fmt: skip

        port = None
        if settings.metrics_port is not None:
            probe = ProbeServer(host=settings.host, port=settings.metrics_port, health=health)
            port = await probe.start()
        queue.start_worker(concurrency=concurrency, name=name)
        log.info("clip worker ready worker=%s concurrency=%d metrics_port=%s", name, concurrency,
                 port)  # fmt: skip
        print(f"visavis clip-worker: {name} taking clip jobs"
              + (f"; metrics and health on port {port}" if port else ""), flush=True)  # fmt: skip
        while not stop.is_set() and queue.working == 2:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=1.0)
        if not stop.is_set():
            raise RuntimeError("the clip worker's queue tasks stopped; see the log above")
        log.info("clip worker stopping worker=%s", name)
    finally:
        await queue.aclose()
        if probe is not None:
            await probe.aclose()
        await asyncio.to_thread(storage.close)
