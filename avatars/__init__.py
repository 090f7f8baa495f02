"""The character (reference image → rig), the motion frame, the world model and its teacher."""
