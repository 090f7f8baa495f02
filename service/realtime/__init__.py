"""Real-time sessions: ``engine.RealtimeSession`` (one frame clock per session; push audio in,
iterate frames out, interrupt, trigger) and its public protocol (``protocol.SessionProtocol``,
all a transport may use); ``parts`` says what a session is made of; ``factory.SessionFactory``
builds every session, on the frame worker processes of ``pool`` (``host`` is a worker's side,
``messages`` the typed pipe messages) or on threads (``workers``); ``manager`` keeps the REST
API's persistent sessions. The transports that carry sessions to viewers are in
``service.transports``."""
