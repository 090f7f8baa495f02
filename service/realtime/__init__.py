"""Real-time sessions: ``engine.RealtimeSession`` (one frame clock per session; push audio in,
iterate frames out, interrupt, trigger), its ingest, events and workers; ``factory`` builds one
for a stored character; ``manager`` keeps the REST API's persistent sessions;
``bench`` measures latency and how many sessions a machine sustains."""
