"""espeak-ng through its C library (ctypes): samples plus phoneme events, synchronous mode.

The library holds global state, so every call goes through one lock.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import threading
from dataclasses import dataclass

import numpy as np

from audio.errors import AudioError

log = logging.getLogger(__name__)

_AUDIO_OUTPUT_SYNCHRONOUS = 2
_INITIALIZE_PHONEME_EVENTS = 0x0001
_INITIALIZE_DONT_EXIT = 0x8000
_CHARS_UTF8 = 1
_ENDPAUSE = 0x1000
_POS_CHARACTER = 1
_EVENT_LIST_TERMINATED = 0
_EVENT_PHONEME = 7
_PARAM_RATE = 1
_PARAM_PITCH = 3
_EE_OK = 0

DEFAULT_VOICE = "en-us"
DEFAULT_WPM = 175
"""espeak-ng's own default speaking rate (words per minute); ``rate=1.0`` means this."""
DEFAULT_PITCH = 50
"""espeak-ng's default base pitch on its 0..100 scale; ``pitch=1.0`` means this."""


class _EventId(ctypes.Union):
    _fields_ = [("number", ctypes.c_int), ("name", ctypes.c_char_p), ("string", ctypes.c_char * 8)]


class _Event(ctypes.Structure):
    _fields_ = [
        ("type", ctypes.c_int),
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),
        ("length", ctypes.c_int),
        ("audio_position", ctypes.c_int),
        ("sample", ctypes.c_int),
        ("user_data", ctypes.c_void_p),
        ("id", _EventId),
    ]


class _Voice(ctypes.Structure):
    _fields_ = [
        ("name", ctypes.c_char_p),
        ("languages", ctypes.c_char_p),
        ("identifier", ctypes.c_char_p),
        ("gender", ctypes.c_ubyte),
        ("age", ctypes.c_ubyte),
        ("variant", ctypes.c_ubyte),
        ("xx1", ctypes.c_ubyte),
        ("score", ctypes.c_int),
        ("spare", ctypes.c_void_p),
    ]


_SynthCallback = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event)
)


@dataclass(frozen=True)
class RawSpeech:
    samples: np.ndarray  # (N,) float32 at sample_rate
    sample_rate: int
    events: tuple[tuple[str, float], ...]
    """(espeak phoneme mnemonic, start in seconds), in order."""


class _Engine:
    def __init__(self) -> None:
        name = ctypes.util.find_library("espeak-ng") or "libespeak-ng.so.1"
        try:
            self.lib = ctypes.CDLL(name)
        except OSError as exc:
            raise RuntimeError(
                f"espeak-ng library not found ({name}): install libespeak-ng1"
            ) from exc
        lib = self.lib
        lib.espeak_Initialize.restype = ctypes.c_int
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        lib.espeak_SetSynthCallback.argtypes = [_SynthCallback]
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetVoiceByName.restype = ctypes.c_int
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        lib.espeak_SetParameter.restype = ctypes.c_int
        lib.espeak_Synth.argtypes = [
            ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int, ctypes.c_uint,
            ctypes.c_uint, ctypes.POINTER(ctypes.c_uint), ctypes.c_void_p,
        ]  # fmt: skip
        lib.espeak_Synth.restype = ctypes.c_int
        lib.espeak_Synchronize.restype = ctypes.c_int
        lib.espeak_Info.argtypes = [ctypes.POINTER(ctypes.c_char_p)]
        lib.espeak_Info.restype = ctypes.c_char_p
        lib.espeak_ListVoices.argtypes = [ctypes.c_void_p]
        lib.espeak_ListVoices.restype = ctypes.POINTER(ctypes.POINTER(_Voice))
        rate = lib.espeak_Initialize(
            _AUDIO_OUTPUT_SYNCHRONOUS, 0, None, _INITIALIZE_PHONEME_EVENTS | _INITIALIZE_DONT_EXIT
        )
        if rate <= 0:
            raise RuntimeError(f"espeak-ng failed to initialise (returned {rate})")
        self.sample_rate = int(rate)
        self._chunks: list[np.ndarray] = []
        self._events: list[tuple[str, float]] = []
        self._callback = _SynthCallback(self._on_synth)  # kept alive as long as the engine
        lib.espeak_SetSynthCallback(self._callback)
        self.lock = threading.Lock()

    def _on_synth(self, wav, n_samples, events) -> int:  # type: ignore[no-untyped-def]
        if n_samples > 0 and wav:
            self._chunks.append(np.ctypeslib.as_array(wav, shape=(n_samples,)).copy())
        i = 0
        while events and events[i].type != _EVENT_LIST_TERMINATED:
            event = events[i]
            if event.type == _EVENT_PHONEME:
                mnemonic = bytes(event.id.string).split(b"\0", 1)[0].decode("utf-8", "replace")
                self._events.append((mnemonic, event.audio_position / 1000.0))
            i += 1
        return 0  # 0 = continue synthesis

    def voices(self) -> list[str]:
        with self.lock:
            table = self.lib.espeak_ListVoices(None)
            names: list[str] = []
            i = 0
            while table[i]:
                ident = table[i].contents.identifier
                if ident:
                    names.append(ident.decode().rsplit("/", 1)[-1])
                i += 1
        return sorted(set(names))

    def variants(self) -> list[str]:
        """Voice variants (append as ``voice+variant``, e.g. ``en-us+f3``): files in the data
        folder's ``voices/!v``."""
        from pathlib import Path

        data_path = ctypes.c_char_p()
        self.lib.espeak_Info(ctypes.byref(data_path))
        if not data_path.value:
            return []
        folder = Path(data_path.value.decode()) / "voices" / "!v"
        return sorted(p.name for p in folder.iterdir() if p.is_file()) if folder.is_dir() else []

    def synthesize(self, text: str, voice: str, rate: float, pitch: float) -> RawSpeech:
        data = text.encode("utf-8") + b"\0"
        with self.lock:
            if self.lib.espeak_SetVoiceByName(voice.encode()) != _EE_OK:
                raise AudioError(
                    f"espeak-ng has no voice {voice!r}; see list_voices('espeak') "
                    "(a variant may follow '+', e.g. 'en-us+f3')"
                )
            wpm = round(DEFAULT_WPM * rate)
            self.lib.espeak_SetParameter(_PARAM_RATE, wpm, 0)
            self.lib.espeak_SetParameter(_PARAM_PITCH, round(DEFAULT_PITCH * pitch), 0)
            self._chunks, self._events = [], []
            status = self.lib.espeak_Synth(
                data, len(data), 0, _POS_CHARACTER, 0, _CHARS_UTF8 | _ENDPAUSE, None, None
            )
            if status != _EE_OK:
                raise RuntimeError(f"espeak-ng synthesis failed (status {status})")
            self.lib.espeak_Synchronize()
            chunks, events = self._chunks, self._events
            self._chunks, self._events = [], []
        pcm = np.concatenate(chunks) if chunks else np.zeros(0, np.int16)
        samples = (pcm.astype(np.float32) / 32768.0).astype(np.float32)
        return RawSpeech(samples=samples, sample_rate=self.sample_rate, events=tuple(events))


_engine: _Engine | None = None
_engine_lock = threading.Lock()


def engine() -> _Engine:
    global _engine
    with _engine_lock:
        if _engine is None:
            _engine = _Engine()
        return _engine
