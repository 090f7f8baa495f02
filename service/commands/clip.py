"""``visavis clip``: one photo + speech (a file, or text through local TTS) → a talking head."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path

HELP = "render a talking-head clip (MP4 or WebM) from a face image and speech audio or text"

PROGRESS_AFTER_SECONDS = 3.0
"""Clips longer than this show a progress bar on stderr."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--image", required=True, type=Path,
                        help="face photo or portrait (jpg, png, webp)")  # fmt: skip
    speech = parser.add_mutually_exclusive_group(required=True)
    speech.add_argument("--audio", type=Path, help="what the avatar says: any audio file")
    speech.add_argument("--text", help="what the avatar says, spoken by local TTS")
    parser.add_argument("-o", "--output", required=True, type=Path, help="output video file")
    from service.sizes import DEFAULT_SIZE, SIZE_NAMES

    parser.add_argument("--size", choices=SIZE_NAMES, default=DEFAULT_SIZE,
                        help="512x512 (default) or 1280x720")  # fmt: skip
    parser.add_argument("--format", choices=("mp4", "webm"), default=None,
                        help="container (default: from the output name, else mp4)")  # fmt: skip
    parser.add_argument("--seed", type=int, default=None, help="make the motion reproducible")
    parser.add_argument("--engine", choices=("espeak", "piper"), default="espeak",
                        help="TTS engine for --text")  # fmt: skip
    parser.add_argument("--voice", default=None, help="TTS voice for --text (engine-specific)")
    parser.add_argument("--max-seconds", type=float, default=600.0,
                        help="refuse speech longer than this (default 600)")  # fmt: skip
    parser.add_argument("--motion-out", type=Path, default=None,
                        help="also write the motion frames as Live Link Face CSV")  # fmt: skip
    parser.add_argument("--partner-audio", type=Path, default=None,
                        help="what the avatar hears (it listens while this plays)")  # fmt: skip
    parser.add_argument("--mix-partner", action="store_true",
                        help="put the partner audio in the clip's soundtrack too")  # fmt: skip


def _output_format(args: argparse.Namespace) -> str:
    if args.format:
        return str(args.format)
    return "webm" if args.output.suffix.lower() == ".webm" else "mp4"


def _check_output(path: Path) -> None:
    """Fail before the (slow) render if the output cannot be written."""
    folder = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise ValueError(f"output {path} is a directory; give a file name such as {path}/out.mp4")
    if not folder.is_dir():
        raise ValueError(f"output folder {folder} does not exist")
    if not os.access(folder, os.W_OK):
        raise ValueError(f"output folder {folder} is not writable")


@contextlib.contextmanager
def _quiet_native_stderr() -> Iterator[None]:
    """Hide MediaPipe's C++ start-up chatter (it writes to fd 2 directly) so that a user sees one
    line per problem. Python exceptions still propagate; ``VISAVIS_DEBUG=1`` shows everything."""
    if os.environ.get("VISAVIS_DEBUG"):
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def run(args: argparse.Namespace) -> int:
    from audio.clocks import SAMPLE_RATE, frames_for_samples
    from audio.decode import load_audio
    from audio.tts import synthesize
    from avatars.character import Character
    from service.pipeline import ClipOptions, render_clip

    if args.partner_audio is None and args.mix_partner:
        raise ValueError("--mix-partner needs --partner-audio")
    if not args.max_seconds > 0:
        raise ValueError(f"--max-seconds {args.max_seconds} must be positive")
    options = ClipOptions(size=args.size, fmt=_output_format(args), seed=args.seed,
                          mix_partner=args.mix_partner)  # fmt: skip
    _check_output(args.output)
    if args.motion_out is not None:
        _check_output(args.motion_out)
    if not args.image.is_file():
        raise ValueError(f"image {args.image} does not exist")
    if args.text is not None:
        speech = synthesize(args.text, engine=args.engine, voice=args.voice).samples
        seconds = speech.shape[0] / SAMPLE_RATE
        if seconds > args.max_seconds:
            raise ValueError(
                f"the text speaks for {seconds:.1f} s, "
                f"longer than --max-seconds {args.max_seconds:g}"
            )
    else:
        speech = load_audio(args.audio, max_seconds=args.max_seconds)
    partner = None
    if args.partner_audio is not None:
        partner = load_audio(args.partner_audio, max_seconds=args.max_seconds)
    try:
        with _quiet_native_stderr():
            character = Character.from_image(args.image)
    except ValueError as exc:
        if str(args.image) in str(exc):
            raise
        raise ValueError(f"{args.image}: {exc}") from None

    from tqdm import tqdm

    longest = max(speech.shape[0], 0 if partner is None else partner.shape[0])
    quick = longest <= PROGRESS_AFTER_SECONDS * SAMPLE_RATE
    total = frames_for_samples(longest)
    with tqdm(total=total, unit="frame", desc="rendering", file=sys.stderr, leave=False,
              disable=quick) as bar:  # fmt: skip

        def progress(done: int, total: int) -> None:
            bar.update(done - bar.n)

        result = render_clip(character, speech, args.output, options=options, partner_audio=partner,
                             motion_out=args.motion_out, progress=progress)  # fmt: skip
    summary = f"{result.frames} frames, {result.seconds:.2f} s, {args.size} {options.fmt}"
    print(f"{result.path}: {summary}")
    return 0
