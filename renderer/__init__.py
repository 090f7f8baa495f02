"""Motion frame + rig → RGB frames; encoders (MP4, WebM); frame pacing."""
