"""What kind of audio file some bytes begin with (magic bytes), so that a file sent where raw
PCM was promised is recognised instead of being played as noise."""

from __future__ import annotations

_MP3_BITRATES_KBPS = (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320)
_MP3_RATES_HZ = (44100, 48000, 32000)


def _mpeg1_layer3_frame_bytes(header: bytes) -> int | None:
    """The length of the MPEG-1 Layer III frame this 4-byte header starts, or None."""
    if len(header) < 4 or header[0] != 0xFF or header[1] & 0xFE != 0xFA:
        return None
    bitrate_index, rate_index = header[2] >> 4, (header[2] >> 2) & 0x3
    if not 0 < bitrate_index < 15 or rate_index == 3:
        return None
    padding = (header[2] >> 1) & 0x1
    return 144 * _MP3_BITRATES_KBPS[bitrate_index] * 1000 // _MP3_RATES_HZ[rate_index] + padding


def audio_container(data: bytes) -> str | None:
    """``wav``, ``mp3``, ``ogg``, ``flac``, ``mp4``, ``webm`` when ``data`` starts like such a
    file; None otherwise (e.g. raw PCM).

    A bare MP3 (no ID3 tag) is recognised only when a second frame header follows the first
    where the first one's length says: a single 0xFFFx word is also a plausible PCM sample."""
    head = bytes(data[:12])
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "wav"
    if head[:3] == b"ID3":
        return "mp3"
    if head[:4] == b"OggS":
        return "ogg"
    if head[:4] == b"fLaC":
        return "flac"
    if head[4:8] == b"ftyp":
        return "mp4"
    if head[:4] == b"\x1a\x45\xdf\xa3":
        return "webm"
    length = _mpeg1_layer3_frame_bytes(head[:4])
    if length and _mpeg1_layer3_frame_bytes(bytes(data[length : length + 4])):
        return "mp3"
    return None
