"""``visavis worker``: register with a LiveKit server as agent ``visavis-avatar``.

It reads the same ``VISAVIS_*`` settings as the API (the database and shared storage, where it
finds the characters the API made), logs as ``VISAVIS_LOG_FORMAT`` says, and with
``VISAVIS_METRICS_PORT`` (or ``--metrics-port``) serves its job processes' Prometheus metrics.
"""

from __future__ import annotations

import argparse
import asyncio
import os

HELP = "register with a LiveKit server and render avatars for the rooms it dispatches"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--url", default=os.environ.get("LIVEKIT_URL"), help="LiveKit server (env LIVEKIT_URL)"
    )
    parser.add_argument(
        "--api-key",
        default=os.environ.get("LIVEKIT_API_KEY"),
        help="LiveKit API key (env LIVEKIT_API_KEY)",
    )
    parser.add_argument(
        "--agent-name", default="visavis-avatar", help="name agents dispatch (visavis-avatar)"
    )
    parser.add_argument(
        "--http-port",
        type=int,
        default=8081,
        help="port of the worker's health endpoint (0 picks a free one)",
    )
    parser.add_argument(
        "--metrics-port", type=int, default=None,
        help="port of the Prometheus metrics (default: VISAVIS_METRICS_PORT; unset: none)",
    )  # fmt: skip
    parser.add_argument(
        "--load-threshold",
        type=float,
        default=0.75,
        help="stop taking jobs above this CPU load (0-1]",
    )


def run(args: argparse.Namespace) -> int:
    secret = os.environ.get("LIVEKIT_API_SECRET")  # never a flag: flags show up in `ps`
    missing = [
        name
        for name, value in (
            ("--url / LIVEKIT_URL", args.url),
            ("--api-key / LIVEKIT_API_KEY", args.api_key),
            ("LIVEKIT_API_SECRET", secret),
        )
        if not value
    ]
    if missing:
        raise ValueError(f"missing LiveKit settings: {', '.join(missing)}")
    import shutil
    import tempfile

    from service.observe.logs import configure_logging
    from service.settings import load_settings
    from service.transports.livekit.agent_worker import build_server

    settings = load_settings(metrics_port=args.metrics_port)  # checked here, read again by jobs
    configure_logging(level=settings.log_level, fmt=settings.log_format)
    # job processes write their metrics here; the worker's endpoint adds them up
    metrics_dir = tempfile.mkdtemp(prefix="visavis-worker-metrics-")
    server = build_server(
        url=args.url,
        api_key=args.api_key,
        api_secret=secret,
        agent_name=args.agent_name,
        load_threshold=args.load_threshold,
        http_port=args.http_port,
        metrics_port=settings.metrics_port,
        metrics_dir=metrics_dir,
    )
    print(f"visavis worker: registering as {args.agent_name!r} with {args.url}", flush=True)
    try:
        asyncio.run(server.run())
    finally:
        shutil.rmtree(metrics_dir, ignore_errors=True)
    return 0
