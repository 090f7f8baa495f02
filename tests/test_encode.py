"""The encoder: playable files with both streams, matching durations, no half files on error."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from renderer.encode import EncodeError, VideoWriter

FPS = 25


def _write(path: Path, n_frames: int, audio: np.ndarray | None, fmt: str = "mp4") -> None:
    writer = VideoWriter(path, width=96, height=64, audio=audio, fmt=fmt)  # type: ignore[arg-type]
    with writer:
        for t in range(n_frames):
            frame = np.zeros((64, 96, 3), np.uint8)
            frame[:, : 2 * t % 96] = 200  # moving edge, so frames differ
            writer.write(frame)


def _probe(path: Path) -> dict[str, object]:
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        audio = container.streams.audio[0] if container.streams.audio else None
        info: dict[str, object] = {
            "video_codec": video.codec_context.name,
            "rate": video.average_rate,
            "audio_codec": audio.codec_context.name if audio else None,
        }
        frames = list(container.decode(video=0))
        info["frames"] = len(frames)
        info["first"] = frames[0].to_ndarray(format="rgb24")
    if audio is not None:
        with av.open(str(path)) as container:
            samples = [f.samples for f in container.decode(audio=0)]
            rate = container.streams.audio[0].rate
        info["audio_seconds"] = sum(samples) / rate
    return info


@pytest.mark.parametrize(
    ("fmt", "vcodec", "acodec"), [("mp4", "h264", "aac"), ("webm", "vp8", "opus")]
)
def test_streams_and_durations_agree(tmp_path: Path, fmt: str, vcodec: str, acodec: str) -> None:
    seconds = 1.37  # not a whole number of frames: the writer must pad the audio to the video
    audio = (0.3 * np.sin(np.arange(int(16000 * seconds)) * 0.05)).astype(np.float32)
    n_frames = -(-audio.size // 640)
    out = tmp_path / f"clip.{fmt}"
    _write(out, n_frames, audio, fmt)
    info = _probe(out)
    assert info["video_codec"] == vcodec and info["audio_codec"] == acodec
    assert info["rate"] == FPS
    assert info["frames"] == n_frames
    assert abs(float(info["audio_seconds"]) - n_frames / FPS) <= 1 / FPS  # type: ignore[arg-type]


def test_audio_longer_than_video_is_cut(tmp_path: Path) -> None:
    audio = np.zeros(16000 * 3, np.float32)
    out = tmp_path / "short.mp4"
    _write(out, 10, audio)  # 0.4 s of video for 3 s of audio
    info = _probe(out)
    assert abs(float(info["audio_seconds"]) - 0.4) <= 1 / FPS  # type: ignore[arg-type]


def test_video_only_and_pixels_survive(tmp_path: Path) -> None:
    out = tmp_path / "mute.mp4"
    _write(out, 3, None)
    info = _probe(out)
    assert info["audio_codec"] is None and info["frames"] == 3
    first = info["first"]
    assert isinstance(first, np.ndarray) and first.shape == (64, 96, 3)
    assert first.max() < 30  # the first frame is black: no colour conversion surprise


def test_error_leaves_no_file(tmp_path: Path) -> None:
    out = tmp_path / "broken.mp4"
    with pytest.raises(RuntimeError), VideoWriter(out, width=96, height=64) as writer:
        writer.write(np.zeros((64, 96, 3), np.uint8))
        raise RuntimeError("renderer failed")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"width": 97, "height": 64}, "width 97"),
        ({"width": 96, "height": 64, "fmt": "avi"}, "format 'avi'"),
        ({"width": 96, "height": 64, "audio": np.zeros((10, 2), np.float32)}, "mono"),
    ],
)
def test_bad_arguments_are_named(tmp_path: Path, kwargs: dict, message: str) -> None:
    with pytest.raises(EncodeError, match=message):
        VideoWriter(tmp_path / "x.mp4", **kwargs)
    assert list(tmp_path.iterdir()) == []


def test_wrong_frame_shape_is_named(tmp_path: Path) -> None:
    with pytest.raises(EncodeError, match=r"\(64, 96, 3\) uint8"):  # noqa: SIM117
        with VideoWriter(tmp_path / "x.mp4", width=96, height=64) as writer:
            writer.write(np.zeros((64, 64, 3), np.uint8))
    assert list(tmp_path.iterdir()) == []
