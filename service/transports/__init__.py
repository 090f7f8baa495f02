"""Transports: how a real-time session reaches its viewers, one module per transport, each on
the session's public protocol (``service.realtime.protocol.SessionProtocol``) and each taking its
sessions from the one ``service.realtime.factory.SessionFactory``.

- ``websocket``: frames (JPEG + the PCM of the same frame) over the ``/v1/sessions/{id}/stream``
  WebSocket; the demo page ``service/static/live.html`` is its browser client.
- ``livekit``: the avatar as a participant of a LiveKit room (dispatched by the API, or taken as
  a job by ``visavis worker``).

A new transport (the browser's WebRTC) lands here beside them.
"""
