"""visavis avatars for LiveKit Agents: a self-hosted face for any agent, in two lines::

    avatar = visavis.AvatarSession(character_id="ch_...")
    await avatar.start(session, room=ctx.room)

Failures reach the agent as LiveKit's own errors: ``APIStatusError`` when visavis answers with
an error, ``APIConnectionError`` when it cannot be reached; missing settings raise ``ValueError``.
"""

from livekit.agents import Plugin

from .avatar import AvatarSession
from .log import logger
from .version import __version__

__all__ = ["AvatarSession", "__version__"]


class VisavisPlugin(Plugin):
    def __init__(self) -> None:
        # in a package's __init__, __name__ is the package's name (title and package alike)
        super().__init__(__name__, __version__, __name__, logger)


Plugin.register_plugin(VisavisPlugin())
