"""``visavis render-motion``: drive a face from a motion CSV (Live Link Face–style columns)."""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

HELP = "render a motion CSV (Live Link Face columns, 25 fps) onto a face photo as MP4/WebM"

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--image", required=True, type=Path, help="reference photo (jpg/png/webp)")
    parser.add_argument("--motion", required=True, type=Path, help="motion CSV, one row per frame")
    parser.add_argument("-o", "--output", required=True, type=Path, help="output .mp4 or .webm")
    from service.sizes import DEFAULT_SIZE, SIZE_NAMES

    parser.add_argument("--size", default=DEFAULT_SIZE,
                        help=f"{' or '.join(SIZE_NAMES)}, or WxH")  # fmt: skip
    parser.add_argument("--audio", type=Path, default=None, help="optional audio track to mux in")


def run(args: argparse.Namespace) -> int:
    from avatars.character import Character
    from avatars.motion import read_csv
    from renderer import make_renderer
    from renderer.encode import VideoWriter

    suffix = args.output.suffix.lower().lstrip(".")
    if suffix not in ("mp4", "webm"):
        raise ValueError(f"output {args.output}: extension .{suffix}; use .mp4 or .webm")
    motion = read_csv(args.motion)
    from audio.clocks import SAMPLE_RATE

    audio = None
    if args.audio is not None:
        from audio.decode import load_audio

        audio = load_audio(args.audio)
    started = time.perf_counter()
    character = Character.from_image(args.image)
    for note in character.notes:
        print(f"visavis: {note}")
    renderer = make_renderer(character, size=args.size)
    width, height = renderer.size
    with VideoWriter(
        args.output, width=width, height=height, audio=audio, audio_rate=SAMPLE_RATE, fmt=suffix,  # type: ignore[arg-type]
    ) as writer:
        for frame in motion:
            writer.write(renderer.render(frame))
    seconds = time.perf_counter() - started
    log.info("render_motion frames=%d seconds=%.2f size=%dx%d", len(motion), seconds, width, height)
    print(f"{args.output}: {len(motion)} frames, {width}x{height}, {seconds:.1f} s")
    return 0
