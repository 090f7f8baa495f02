"""The talking-head world model: config, network, streaming inference, shipped weights."""

from avatars.model.config import WorldModelConfig
from avatars.model.modeling import FrameInputs, MotionOutputs, WorldModel
from avatars.model.stream import WEIGHTS_DIR, WorldModelStream, load_motion_stream
from avatars.vocabulary import EVENTS, PERSONA_FIELDS, STATES

__all__ = [
    "EVENTS",
    "PERSONA_FIELDS",
    "STATES",
    "WEIGHTS_DIR",
    "FrameInputs",
    "MotionOutputs",
    "WorldModel",
    "WorldModelConfig",
    "WorldModelStream",
    "load_motion_stream",
]
