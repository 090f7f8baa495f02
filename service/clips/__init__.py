"""Clip jobs: requested through the API (``ClipJobs``), rendered by whoever takes them from the
queue (``ClipRenderer``), on the queue the deployment names:

- ``local``: threads of the API process (the default on SQLite; one node);
- ``postgresql``: procrastinate in PostgreSQL (the default with a PostgreSQL database), taken
  by ``visavis clip-worker`` processes and by API nodes with ``VISAVIS_CLIP_WORKERS`` > 0.
"""

from __future__ import annotations

from service.clips.jobs import ClipJobs, QueueFullError, fair_priority
from service.clips.open import open_clip_jobs, queue_url
from service.clips.render import ClipRenderer, JobCancelled

__all__ = [
    "ClipJobs",
    "ClipRenderer",
    "JobCancelled",
    "QueueFullError",
    "fair_priority",
    "open_clip_jobs",
    "queue_url",
]
