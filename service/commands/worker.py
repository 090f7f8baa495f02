"""``visavis worker``: register with a LiveKit server as agent ``visavis-avatar``."""

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
    from service.transports.livekit.agent_worker import build_server

    server = build_server(
        url=args.url,
        api_key=args.api_key,
        api_secret=secret,
        agent_name=args.agent_name,
        load_threshold=args.load_threshold,
        http_port=args.http_port,
    )
    print(f"visavis worker: registering as {args.agent_name!r} with {args.url}", flush=True)
    asyncio.run(server.run())
    return 0
