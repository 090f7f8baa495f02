"""The plugin's logger, under LiveKit's ``livekit.plugins`` tree like every LiveKit plugin."""

import logging

logger = logging.getLogger("livekit.plugins.visavis")
