"""The synthetic teacher: phoneme-timed speech to lifelike motion, and the dialogue corpus."""
