"""``visavis character``: what a photo gives as a character, before using it.

Prints what character creation found (face size, pose, the photo's own expression), how it frames
at each output size for the chosen fit, and every warning; ``--json`` prints the same report as
the API returns it; ``--preview`` writes the rest frame.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

HELP = "report what a face photo gives as a character (face, pose, expression, framing, warnings)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("image", type=Path, help="face photo or portrait (jpg, png, webp)")
    parser.add_argument("--fit", choices=("cover", "contain", "face"), default="cover",
                        help="how the photo fills the frame (default cover)")  # fmt: skip
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--preview", type=Path, default=None,
                        help="also write the rest frame as a PNG (512)")  # fmt: skip


def run(args: argparse.Namespace) -> int:
    from avatars.character import Character
    from renderer.report import character_report, report_lines
    from service.commands.clip import _quiet_native_stderr

    if not args.image.is_file():
        raise ValueError(f"image {args.image} does not exist")
    try:
        with _quiet_native_stderr():
            character = Character.from_image(args.image)
    except ValueError as exc:
        raise ValueError(f"{args.image}: {exc}") from None
    report = character_report(character, args.fit)
    if args.json:
        print(json.dumps(report, indent=1))
    else:
        print("\n".join(report_lines(report)))
    if args.preview is not None:
        from PIL import Image

        from renderer import make_renderer

        renderer = make_renderer(character, size="512", fit=args.fit)
        Image.fromarray(renderer.render(renderer.rest_motion())).save(args.preview)
        print(f"{args.preview}: the rest frame")
    return 0
