"""``visavis capture VIDEO -o DIR``: motion frames and audio from real footage, for training."""

from __future__ import annotations

import argparse
from pathlib import Path

HELP = "measure a talking-head video into motion.csv + audio (the training corpus format)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("video", type=Path, help="a video of one person talking (mp4, webm, mov)")
    parser.add_argument("-o", "--output", required=True, type=Path, help="folder to write")
    parser.add_argument("--partner-audio", type=Path, default=None,
                        help="what the person hears, if recorded separately")  # fmt: skip


def run(args: argparse.Namespace) -> int:
    from avatars.capture import capture

    result = capture(args.video, args.output, partner_audio=args.partner_audio)
    print(f"captured {result.frames} frames ({result.seconds:.1f} s, face in "
          f"{result.detected:.0%}) into {result.folder}")  # fmt: skip
    return 0
