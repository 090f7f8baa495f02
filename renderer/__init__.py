"""Motion frame + rig → RGB frames; encoders (MP4, WebM); frame pacing.

``Renderer(character, size="512").render(motion)`` turns one (61,) motion frame into an
(H, W, 3) uint8 RGB frame; ``parse_size`` reads "512", "720p" or "WxH".
"""

from renderer.framing import SIZES, SizeError, parse_size
from renderer.render import Renderer

__all__ = ["SIZES", "Renderer", "SizeError", "parse_size"]
