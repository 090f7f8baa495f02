"""Audio in: decoding, resampling, streaming features, voice activity, turn state, local TTS.

Imports nothing else of visavis. The modules, by what they give:

- ``clocks``: every rate and frame size (16 kHz, 25 fps, 640 samples per frame, ...).
- ``decode.load_audio``: any file or bytes PyAV reads -> 16 kHz mono float32.
- ``stream.StreamResampler`` / ``stream.FrameChunker``: live PCM chunks -> exact video frames.
- ``features.log_mel`` / ``features.StreamingLogMel``: 4 log-mel rows (80 bands) per frame.
- ``vad.StreamingVad``: silero-vad speech probability per 32 ms window.
- ``turns.ConversationTracker``: speaking / listening / idle / overlap and phrase-end events.
- ``analyzer.StreamAnalyzer``: all of the above for both streams, once per video frame.
- ``tts.synthesize``: espeak-ng or piper speech with phoneme spans in ``phonemes``' shared set.
- ``errors.AudioError``: what a user's bad audio raises (a ValueError).
"""
