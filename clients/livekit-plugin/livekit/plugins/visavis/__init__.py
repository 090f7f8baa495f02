"""visavis avatars for LiveKit Agents: ``visavis.AvatarSession(character_id=...).start(...)``."""

from livekit.plugins.visavis.avatar import AvatarSession, VisavisError
from livekit.plugins.visavis.version import __version__

__all__ = ["AvatarSession", "VisavisError", "__version__"]
