"""``visavis clip`` end to end: a photo and a sentence in, a playable talking-head video out."""

from __future__ import annotations

import wave
from pathlib import Path

import av
import numpy as np
import pytest

from audio.clocks import FPS, SAMPLE_RATE
from service.cli import main


def _write_wav(path: Path, samples: np.ndarray, rate: int = SAMPLE_RATE) -> Path:
    pcm = (np.clip(samples, -1, 1) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as fh:
        fh.setnchannels(1)
        fh.setsampwidth(2)
        fh.setframerate(rate)
        fh.writeframes(pcm.tobytes())
    return path


def _write_png(path: Path, rgb: np.ndarray) -> Path:
    from PIL import Image

    Image.fromarray(rgb).save(path)
    return path


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from skimage import data

    from audio.tts import synthesize

    folder = tmp_path_factory.mktemp("clip_inputs")
    speech = synthesize("Hello there. How are you today?", engine="espeak").samples
    silence = np.zeros(SAMPLE_RATE, np.float32)
    return {
        "face": _write_png(folder / "astronaut.png", data.astronaut()),
        # 0.5 s of silence, the sentence, 1 s of silence: the mouth must be shut at both ends
        "speech": _write_wav(
            folder / "speech.wav", np.concatenate([silence[:8000], speech, silence])
        ),
        "short": _write_wav(folder / "short.wav", speech[: SAMPLE_RATE // 2]),
        "silent": _write_wav(folder / "silent.wav", silence),
        "long": _write_wav(folder / "long.wav", np.zeros(3 * SAMPLE_RATE, np.float32)),
        "text": _write_text(folder / "notes.txt"),
        "blank": _write_png(folder / "blank.png", np.full((256, 256, 3), 128, np.uint8)),
        "folder": folder,
    }


def _write_text(path: Path) -> Path:
    path.write_text("this is not a media file\n" * 20)
    return path


def _decode(path: Path) -> tuple[list[np.ndarray], dict[str, object]]:
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        info: dict[str, object] = {
            "video": video.codec_context.name,
            "rate": video.average_rate,
            "audio": [s.codec_context.name for s in container.streams.audio],
        }
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    with av.open(str(path)) as container:
        rate = container.streams.audio[0].rate
        info["audio_seconds"] = sum(f.samples for f in container.decode(audio=0)) / rate
    return frames, info


def _lip_gaps(frames: list[np.ndarray], step: int) -> np.ndarray:
    """Inner-lip gap / face height per sampled frame, measured with MediaPipe on the output."""
    from avatars.face import CHIN, FOREHEAD_TOP, FaceMeasurer

    gaps = []
    with FaceMeasurer() as measurer:
        for frame in frames[::step]:
            face = measurer.measure(frame)
            assert face is not None, "the rendered frame lost the face"
            marks = face.landmarks
            height = np.linalg.norm(marks[FOREHEAD_TOP, :2] - marks[CHIN, :2])
            gaps.append((marks[14, 1] - marks[13, 1]) / height)  # lower minus upper inner lip
    return np.array(gaps)


def test_clip_from_speech_file(files: dict[str, Path], tmp_path: Path, capsys) -> None:
    out = tmp_path / "out.mp4"
    code = main(
        [
            "clip",
            "--image",
            str(files["face"]),
            "--audio",
            str(files["speech"]),
            "-o",
            str(out),
            "--seed",
            "1",
        ]
    )
    assert code == 0, capsys.readouterr().err
    frames, info = _decode(out)
    with wave.open(str(files["speech"])) as fh:
        audio_seconds = fh.getnframes() / fh.getframerate()
    assert info["video"] == "h264" and info["rate"] == FPS and info["audio"] == ["aac"]
    assert frames[0].shape == (512, 512, 3)
    assert abs(len(frames) / FPS - audio_seconds) <= 1 / FPS
    sound_seconds = float(info["audio_seconds"])  # type: ignore[arg-type]
    assert abs(sound_seconds - len(frames) / FPS) <= 1 / FPS  # the soundtrack spans the picture
    # The mouth opens while the sentence plays and is shut in the silence around it.
    step = 1  # every frame: 45 talking ones (every third gave 15; one frame flipped the verdict)
    gaps = _lip_gaps(frames, step)
    times = np.arange(len(gaps)) * step / FPS
    lead = gaps[times < 0.4]
    talk = gaps[(times > 0.7) & (times < audio_seconds - 1.2)]
    tail = gaps[times > audio_seconds - 0.6]
    assert talk.max() > lead.max() + 0.02, (lead, talk)
    # Speech opens and closes the lips (consonants shut them); silence keeps them shut.
    assert (talk > 0.02).mean() >= 0.3, talk
    assert (lead > 0.02).sum() == 0 and (tail > 0.02).sum() == 0, (lead, tail)
    assert abs(tail.mean() - lead.mean()) < 0.01, (lead, tail)


def test_clip_from_text_720p(files: dict[str, Path], tmp_path: Path, capsys) -> None:
    out = tmp_path / "hi.mp4"
    code = main(
        ["clip", "--image", str(files["face"]), "--text", "Hi.", "-o", str(out), "--size", "720p"]
    )
    assert code == 0, capsys.readouterr().err
    frames, info = _decode(out)
    assert frames[0].shape == (720, 1280, 3) and info["audio"] == ["aac"]
    audio_seconds = float(info["audio_seconds"])  # type: ignore[arg-type]
    assert abs(len(frames) / FPS - audio_seconds) <= 1 / FPS


def test_silent_audio_webm_and_motion(files: dict[str, Path], tmp_path: Path, capsys) -> None:
    out, motion = tmp_path / "idle.webm", tmp_path / "idle.csv"
    code = main(
        [
            "clip",
            "--image",
            str(files["face"]),
            "--audio",
            str(files["silent"]),
            "-o",
            str(out),
            "--motion-out",
            str(motion),
        ]
    )
    assert code == 0, capsys.readouterr().err
    frames, info = _decode(out)
    assert info["video"] == "vp8" and info["audio"] == ["opus"] and len(frames) == FPS

    from avatars.motion import index, read_csv

    rows = read_csv(motion)
    assert rows.shape[0] == FPS and rows[:, index("jawOpen")].max() < 0.05  # idles, mouth shut
    assert np.ptp(rows[:, index("headYaw")]) > 0  # idle, not frozen


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("missing image", "does not exist"),
        ("missing audio", "missing.wav"),
        ("audio is text", "notes.txt"),
        ("image is text", "notes.txt"),
        ("no face", "blank.png: no face"),
        ("too long", "limit"),
        ("unwritable output", "does not exist"),
        ("empty text", "empty"),
    ],
)
def test_bad_input_is_one_line(
    files: dict[str, Path], tmp_path: Path, capfd, case: str, message: str
) -> None:
    face, speech, long_audio = str(files["face"]), str(files["short"]), str(files["long"])
    out = tmp_path / "out.mp4"
    argv = {
        "missing image": ["--image", str(tmp_path / "nobody.png"), "--audio", speech],
        "missing audio": ["--image", face, "--audio", str(tmp_path / "missing.wav")],
        "audio is text": ["--image", face, "--audio", str(files["text"])],
        "image is text": ["--image", str(files["text"]), "--audio", speech],
        "no face": ["--image", str(files["blank"]), "--audio", speech],
        "too long": ["--image", face, "--audio", long_audio, "--max-seconds", "1"],
        "unwritable output": ["--image", face, "--audio", speech],
        "empty text": ["--image", face, "--text", "  "],
    }[case]
    target = tmp_path / "no" / "such" / "dir" / "out.mp4" if case == "unwritable output" else out
    code = main(["clip", *argv, "-o", str(target)])
    err = capfd.readouterr().err  # fd 2: MediaPipe's native chatter would show up here too
    assert code != 0
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("visavis: error:"), err
    assert message in lines[0], lines[0]
    assert "Traceback" not in err
    assert not out.exists() and list(tmp_path.iterdir()) == []  # nothing half-written


def test_partner_audio_sets_length_and_mixes(
    files: dict[str, Path], tmp_path: Path, capsys
) -> None:
    tone = (0.3 * np.sin(np.arange(2 * SAMPLE_RATE) * 0.06)).astype(np.float32)
    partner = _write_wav(tmp_path / "partner.wav", tone)
    out = tmp_path / "listen.mp4"
    code = main(["clip", "--image", str(files["face"]), "--audio", str(files["short"]),
                 "--partner-audio", str(partner), "--mix-partner", "-o", str(out)])  # fmt: skip
    assert code == 0, capsys.readouterr().err
    frames, _ = _decode(out)
    assert len(frames) == 2 * FPS  # the longer track sets the length
    with av.open(str(out)) as container:
        audio = np.concatenate([f.to_ndarray().reshape(-1) for f in container.decode(audio=0)])
    late = audio[int(1.2 * 48_000) : int(1.8 * 48_000)]  # only the partner speaks here
    assert np.sqrt(np.mean(late**2)) > 0.05


def test_mix_partner_needs_partner(files: dict[str, Path], tmp_path: Path, capsys) -> None:
    code = main(["clip", "--image", str(files["face"]), "--audio", str(files["short"]),
                 "--mix-partner", "-o", str(tmp_path / "x.mp4")])  # fmt: skip
    assert code == 2 and "--partner-audio" in capsys.readouterr().err


def test_character_command_reports_face_pose_and_framing(
    files: dict[str, Path], tmp_path: Path, capfd, grace_hopper: np.ndarray
) -> None:
    """``visavis character`` says what creation found, before a user renders anything."""
    import json

    tight = _write_png(tmp_path / "tight.png", np.ascontiguousarray(grace_hopper[130:430, 110:400]))
    assert main(["character", str(tight)]) == 0
    out = capfd.readouterr().out
    assert "px tall in a 290x300 photo" in out and "yaw" in out
    assert "framing 512 (cover)" in out and "100% of the frame from the photo" in out
    assert main(["character", str(tight), "--json", "--fit", "face"]) == 0
    report = json.loads(capfd.readouterr().out)
    assert report["framing"]["512"]["fit"] == "face" and report["framing"]["512"]["extended"]
    assert any("extended" in w for w in report["warnings"])
    assert main(["character", str(files["blank"])]) == 2
    err = capfd.readouterr().err
    assert "visavis: error:" in err and "face" in err
