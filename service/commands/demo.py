"""``visavis demo`` (``make demo``): the service on this machine with a default character and
pages that speak.

The first run creates, in the data folder, a local demo API key and a character made from
``skimage.data.astronaut()``; later runs reuse them. That secret key stays on the server: the
pages carry a publishable key (``pk_...``) minted from it for the demo's own origin and its one
character, which can only open sessions on it, drive them and make clips of it.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
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
    parser.add_argument("--origin", action="append", default=[],
                        help="another origin the pages are opened from (e.g. https://demo.example)")  # fmt: skip


LOOPBACK = ("127.0.0.1", "localhost")


def demo_origins(host: str, port: int, extra: Sequence[str] = ()) -> list[str]:
    """The origins the demo pages are opened from: the served address (both loopback names when
    it is a loopback one) and ``extra``."""
    hosts = LOOPBACK if host in (*LOOPBACK, "::1", "0.0.0.0") else (host,)
    return [f"http://{h}:{port}" for h in hosts] + list(extra)


def prepare(data_dir: Path, origins: Sequence[str] = demo_origins("127.0.0.1", 8000)
            ) -> dict[str, str]:  # fmt: skip
    """Create (once) the demo key and the astronaut character, and a publishable key for
    ``origins``; returns what the pages need (``publishable_key``, ``character_id``), never the
    secret key. Idempotent."""
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
        state["publishable_key"] = _publishable(keys, state, list(origins))
    finally:
        storage.close()
    partial = state_file.with_suffix(".partial")
    partial.write_text(json.dumps(state))
    partial.chmod(0o600)  # it holds a key
    partial.replace(state_file)
    return {"publishable_key": state["publishable_key"], "character_id": state["character_id"]}


def _publishable(keys: Any, state: dict[str, Any], origins: list[str]) -> str:
    """The demo's publishable key for ``origins`` and its character: the one it has when it
    still fits, else a new one (the old one revoked)."""
    current = keys.find(state["publishable_key"]) if state.get("publishable_key") else None
    if current is not None:
        from service.persistence.keys import check_origin

        wanted = sorted({check_origin(o) for o in origins})
        if list(current.origins) == wanted and current.character_ids == (state["character_id"],):
            return str(state["publishable_key"])
        keys.revoke_id(current.id)
    _, key = keys.issue(DEMO_OWNER, scope="publishable", label="demo pages", origins=origins,
                        character_ids=[state["character_id"]])  # fmt: skip
    return key


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
    from service.main import create_app
    from service.observe.logs import configure_logging
    from service.settings import load_settings

    try:
        settings = load_settings(host=args.host, port=args.port, data_dir=args.data_dir)
        configure_logging(level=settings.log_level, fmt=settings.log_format)
        demo = prepare(settings.data_dir, demo_origins(args.host, args.port, args.origin))
    except (ValueError, OSError, RuntimeError) as exc:
        print(f"demo: error: {exc}", file=sys.stderr)
        return 2
    app = create_app(settings)
    app.state.demo = demo
    base = f"http://{args.host}:{args.port}"
    print(f"\nvisavis demo: open {base}/demo/live (real time, your microphone) or {base}/demo "
          f"(a clip)  (API docs: {base}/docs)\n", flush=True)  # fmt: skip
    from service.commands.serve import serve_app

    serve_app(app, host=args.host, port=args.port, log_level=settings.log_level)
    return 0

