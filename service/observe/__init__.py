"""Watching a running process: structured logs with request ids (``logs``) and, for processes
that serve no API, a small HTTP endpoint with ``/metrics`` and ``/healthz`` (``probe``)."""
