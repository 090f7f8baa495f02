"""Decode any audio PyAV reads (a path or the bytes of a file) to 16 kHz mono float32."""

from __future__ import annotations

import io
import logging
from pathlib import Path

import av
import numpy as np

from audio.clocks import SAMPLE_RATE
from audio.errors import AudioError

log = logging.getLogger(__name__)

MAX_DAMAGED_FRACTION = 0.2
"""More damaged packets than this (a fifth) and the file is refused as corrupt."""
DC_THRESHOLD = 0.01
"""A mean above this (in full scale) is a DC offset worth removing; below it, leave the signal."""


def _describe(source: str | Path | bytes) -> str:
    if isinstance(source, bytes | bytearray):
        return f"<{len(source)} bytes of audio>"
    return str(source)


def _open(source: str | Path | bytes) -> av.container.InputContainer:
    name = _describe(source)
    if isinstance(source, bytes | bytearray):
        if not source:
            raise AudioError(f"{name}: empty input, expected the bytes of an audio file")
        target: str | io.BytesIO = io.BytesIO(bytes(source))
    else:
        path = Path(source)
        if not path.exists():
            raise AudioError(f"{name}: no such file")
        if path.is_dir():
            raise AudioError(f"{name}: is a directory, expected an audio file")
        if path.stat().st_size == 0:
            raise AudioError(f"{name}: empty file, expected audio")
        target = str(path)
    try:
        return av.open(target, mode="r")
    except av.FFmpegError as exc:
        raise AudioError(f"{name}: not a readable audio file ({exc})") from exc


def _declared_seconds(
    container: av.container.InputContainer, stream: av.AudioStream
) -> float | None:
    """The duration the header states, without decoding; None when it states none."""
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / av.time_base
    return None


def load_audio(source: str | Path | bytes, *, max_seconds: float | None = 600.0) -> np.ndarray:
    """Decode a file (path or bytes) to float32 (N,) mono at SAMPLE_RATE.

    Stereo is mixed down, any rate resampled. Raises AudioError naming the file and the problem:
    missing, not audio, corrupt or truncated, no audio stream, longer than ``max_seconds`` (the
    header is checked first, so an over-long file is refused before it is decoded), NaN/inf.
    Silence is valid. A large DC offset is removed; float samples beyond ±1 are clipped.
    """
    if max_seconds is not None and not max_seconds > 0:
        raise AudioError(f"max_seconds must be positive or None, got {max_seconds}")
    name = _describe(source)
    with _open(source) as container:
        if not container.streams.audio:
            kinds = ", ".join(s.type for s in container.streams) or "no streams"
            raise AudioError(f"{name}: no audio stream (found {kinds})")
        stream = container.streams.audio[0]
        declared = _declared_seconds(container, stream)
        if max_seconds is not None and declared is not None and declared > max_seconds + 0.5:
            raise AudioError(
                f"{name}: audio is {declared:.1f} s long, longer than the limit of {max_seconds:g} s"
            )
        samples = _decode_stream(container, stream, name, max_seconds)
    if not np.isfinite(samples).all():
        bad = int((~np.isfinite(samples)).sum())
        raise AudioError(f"{name}: {bad} samples are NaN or infinite")
    if samples.size and abs(float(samples.mean())) > DC_THRESHOLD:
        samples = samples - samples.mean(dtype=np.float64).astype(np.float32)
    over = int((np.abs(samples) > 1.0).sum())
    if over:  # float files may exceed full scale; everything downstream expects [-1, 1]
        log.warning("audio beyond full scale clipped source=%s samples=%d", name, over)
        samples = np.clip(samples, -1.0, 1.0)
    return samples


def _decode_stream(
    container: av.container.InputContainer,
    stream: av.AudioStream,
    name: str,
    max_seconds: float | None,
) -> np.ndarray:
    """Decode packet by packet: a damaged packet becomes silence of its length (timing kept)
    instead of ending the decode; too many damaged packets, or none intact, is an error."""
    # Keep the channels through resampling and average them afterwards: FFmpeg's own downmix
    # boosts a centred stereo signal by 3 dB.
    resampler = av.AudioResampler(format="fltp", rate=SAMPLE_RATE)
    limit = None if max_seconds is None else int((max_seconds + 0.5) * SAMPLE_RATE)
    chunks: list[np.ndarray] = []
    total = packets = damaged = 0
    try:
        for packet in container.demux(stream):
            packets += 1
            try:
                frames = packet.decode()
            except av.FFmpegError:
                damaged += 1
                chunks.append(np.zeros(_packet_samples(packet), np.float32))
                continue
            for frame in frames:
                frame.pts = None  # the resampler re-times; broken timestamps must not stop it
                for out in resampler.resample(frame):
                    chunks.append(out.to_ndarray().mean(axis=0))  # (C, n) -> (n,)
                    total += out.samples
            if limit is not None and total > limit:
                raise AudioError(
                    f"{name}: audio is longer than the limit of {max_seconds:g} s "
                    f"(stopped decoding at {total / SAMPLE_RATE:.1f} s)"
                )
        for out in resampler.resample(None):
            chunks.append(out.to_ndarray().mean(axis=0))
            total += out.samples
    except av.FFmpegError as exc:  # the container itself is broken: keep what decoded
        log.warning("audio container damaged source=%s error=%s", name, exc)
    if total == 0:
        raise AudioError(f"{name}: no decodable audio (empty, truncated or corrupt)")
    if damaged > MAX_DAMAGED_FRACTION * packets:
        raise AudioError(
            f"{name}: corrupt audio, {damaged} of {packets} packets could not be decoded"
        )
    samples = np.concatenate(chunks).astype(np.float32, copy=False)
    declared = _declared_seconds(container, stream)
    decoded = samples.size / SAMPLE_RATE
    if damaged or (declared is not None and decoded < 0.9 * declared - 0.1):
        log.warning(
            "audio damaged or truncated source=%s declared_s=%s decoded_s=%.2f damaged_packets=%d",
            name, f"{declared:.2f}" if declared is not None else "unknown", decoded, damaged,
        )  # fmt: skip
    return samples


def _packet_samples(packet: av.Packet) -> int:
    """Length of a packet at SAMPLE_RATE, from its duration (0 when it does not say)."""
    if packet.duration is None or packet.time_base is None:
        return 0
    return max(0, round(float(packet.duration * packet.time_base) * SAMPLE_RATE))
