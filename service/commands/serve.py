"""``visavis serve``: run the REST service (settings from ``VISAVIS_*``, overridable here)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

HELP = "run the visavis HTTP service (REST API, docs at /docs)"

UVICORN_OPTIONS: dict[str, Any] = {
    # The stream's frames are JPEG: deflating each message again (browsers and the websockets
    # client all offer permessage-deflate) cost the event loop's process 2.1 ms per 54 kB frame
    # to save 0.3% of it (measured); with several sessions that was a core's third.
    "ws_per_message_deflate": False,
    # uvicorn's own lines go through the handler configure_logging set up (text or JSON)
    "log_config": None,
    # the backstop of a stop (SIGTERM, Ctrl-C): a response still running this long after it
    # (a slow upload, a client that holds a stream open) is cancelled, so the process exits
    "timeout_graceful_shutdown": 10,
}


def serve_app(app: Any, *, host: str, port: int, log_level: str) -> None:
    """Run ``app`` (the service's FastAPI app) until SIGTERM or SIGINT."""
    import uvicorn

    class StoppingServer(uvicorn.Server):
        """Tells the app a stop has begun before uvicorn waits for open responses: the
        sessions' event streams end at once with a last event (``app.state.stopping``)
        instead of holding the process up."""

        async def shutdown(self, sockets: Any = None) -> None:
            app.state.stopping.set()
            await super().shutdown(sockets)

    config = uvicorn.Config(app, host=host, port=port, log_level=log_level, **UVICORN_OPTIONS)
    StoppingServer(config).run()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default=None, help="bind address (default: VISAVIS_HOST)")
    parser.add_argument("--port", type=int, default=None, help="port (default: VISAVIS_PORT)")
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="database, characters, clips (default: VISAVIS_DATA_DIR)")  # fmt: skip
    parser.add_argument("--log-level", default=None, choices=("debug", "info", "warning", "error"),
                        help="default: VISAVIS_LOG_LEVEL (info)")  # fmt: skip


def run(args: argparse.Namespace) -> int:
    from service.main import create_app
    from service.observe.logs import configure_logging
    from service.settings import load_settings

    settings = load_settings(host=args.host, port=args.port, data_dir=args.data_dir,
                             log_level=args.log_level)  # fmt: skip
    configure_logging(level=settings.log_level, fmt=settings.log_format)
    print(f"visavis: serving on http://{settings.host}:{settings.port} (docs at /docs)", flush=True)
    serve_app(create_app(settings), host=settings.host, port=settings.port,
              log_level=settings.log_level)  # fmt: skip
    return 0
