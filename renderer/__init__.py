"""Motion frame + rig → RGB frames; encoders (MP4, WebM); frame pacing.

``make_renderer(character, size="512").render(motion)`` turns one (61,) motion frame into an
(H, W, 3) uint8 RGB frame (``protocol.FrameRenderer``; ``make_renderer`` is the one constructor,
choosing the kind and the device); ``parse_size`` reads "512", "720p" or "WxH".

Channel semantics: blendshapes are absolute ARKit values (what the face should show); the rig
moves the face by the difference from the reference's own measured expression, so a smiling photo
can close its mouth, and ``Renderer.rest_motion()`` (the reference's expression, no pose)
reproduces the reference exactly. Head angles/translation and body channels are relative to the
reference as photographed (0 = as in the photo); angle signs follow ``avatars.face``.
"""

from renderer.framing import SIZES, SizeError, parse_size
from renderer.protocol import FrameRenderer, make_renderer
from renderer.render import Renderer

__all__ = ["SIZES", "FrameRenderer", "Renderer", "SizeError", "make_renderer", "parse_size"]
