"""Audio in: decoding, resampling, streaming features, voice activity, turn state, local TTS.

Imports nothing else of visavis.
"""
