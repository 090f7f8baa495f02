"""The ``visavis`` command: one subcommand per module in ``service.commands``.

Each command module defines ``HELP``, ``add_arguments(parser)`` and ``run(args) -> int``, keeping
heavy imports inside ``run`` so that ``visavis --help`` stays fast. User errors (bad files, no face,
audio too long) print one line and exit 2; ``VISAVIS_DEBUG=1`` shows the traceback.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from types import ModuleType

COMMANDS: dict[str, str] = {
    "clip": "service.commands.clip",
    "character": "service.commands.character",
    "render-motion": "service.commands.render_motion",
    "capture": "service.commands.capture",
    "serve": "service.commands.serve",
    "worker": "service.commands.worker",
    "clip-worker": "service.commands.clip_worker",
    "migrate": "service.commands.migrate",
    "demo": "service.commands.demo",
}


def _load(module_name: str) -> ModuleType | None:
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name == module_name:
            return None  # not built yet
        raise


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="visavis", description="A face for any voice.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, module_name in COMMANDS.items():
        module = _load(module_name)
        if module is None:
            continue
        cmd = sub.add_parser(name, help=module.HELP, description=module.HELP)
        module.add_arguments(cmd)
        cmd.set_defaults(_run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args._run(args) or 0)
    except KeyboardInterrupt:
        print("visavis: interrupted", file=sys.stderr)
        return 130
    except (ValueError, OSError, RuntimeError) as exc:
        if os.environ.get("VISAVIS_DEBUG"):
            raise
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        print(f"visavis: error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
