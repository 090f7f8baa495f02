"""``visavis demo`` (``make demo``): the service on this machine with a default character and
pages that speak.

The first run creates, in the data folder, a local demo API key and a character made from
``skimage.data.astronaut()``; later runs reuse them. The page at ``/demo`` carries that key, so
the demo binds to 127.0.0.1 by default; ``visavis serve`` (no demo page key) is the way to
expose the service.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Any

HELP = "run the service on this machine with a demo key, a default character and demo pages"
DEMO_OWNER = "demo"

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="default: VISAVIS_DATA_DIR or ./data")  # fmt: skip


def prepare(data_dir: Path) -> dict[str, str]:
    """Create (once) the demo key and the astronaut character; returns both. Idempotent."""
    from skimage import data

    from service.settings import Settings
    from service.storage import open_storage

    settings = Settings(data_dir=data_dir)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    state_file = settings.data_dir / "demo.json"
    state: dict[str, Any] = json.loads(state_file.read_text()) if state_file.is_file() else {}
    storage = open_storage(settings)
    store, keys = storage.characters, storage.db.keys
    try:
        if not state.get("api_key") or keys.owner_for(state["api_key"]) != DEMO_OWNER:
            state["api_key"] = keys.create(DEMO_OWNER, label="demo")
        if not _usable(store, state.get("character_id")):
            print("demo: building the default character from skimage's astronaut ...", flush=True)
            record = store.create(data.astronaut(), name="astronaut", owner=DEMO_OWNER)
            state["character_id"] = record.id
    finally:
        storage.close()
    partial = state_file.with_suffix(".partial")
    partial.write_text(json.dumps(state))
    partial.chmod(0o600)  # it holds a key
    partial.replace(state_file)
    return {"api_key": state["api_key"], "character_id": state["character_id"]}


def _usable(store: Any, character_id: str | None) -> bool:
    """The demo character exists and its files load (a damaged one is made again)."""
    if not character_id or store.get(character_id, owner=DEMO_OWNER) is None:
        return False
    try:
        store.load(character_id)
    except ValueError as exc:
        log.warning("demo character unusable, rebuilding error=%s", type(exc).__name__)
        store.delete(character_id, owner=DEMO_OWNER)
        return False
    return True


def run(args: argparse.Namespace) -> int:
    import uvicorn

    from service.main import create_app
    from service.observe.logs import configure_logging
    from service.settings import load_settings

    try:
        settings = load_settings(host=args.host, port=args.port, data_dir=args.data_dir)
        configure_logging(level=settings.log_level, fmt=settings.log_format)
        demo = prepare(settings.data_dir)
    except (ValueError, OSError, RuntimeError) as exc:
        print(f"demo: error: {exc}", file=sys.stderr)
        return 2
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(f"demo: warning: the page at /demo carries the demo API key; {args.host} may expose "
              "it beyond this machine", file=sys.stderr)  # fmt: skip
    app = create_app(settings)
    app.state.demo = demo
    base = f"http://{args.host}:{args.port}"
    print(f"\nvisavis demo: open {base}/demo/live (real time, your microphone) or {base}/demo "
          f"(a clip)  (API docs: {base}/docs)\n", flush=True)  # fmt: skip
    uvicorn.run(app, host=args.host, port=args.port, log_level=settings.log_level, log_config=None)
    return 0

