"""The FastAPI service, persistence, sessions, the real-time engine, LiveKit and WebRTC transports."""
