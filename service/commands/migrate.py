"""``visavis migrate``: bring the database (and a PostgreSQL storage or queue database, when
they are others) to the newest schema, then exit. API nodes and workers also do it at start-up
unless ``VISAVIS_MIGRATE=false``; a deployment may prefer to run this once, before them."""

from __future__ import annotations

import argparse

HELP = "bring the database schema up to date (VISAVIS_DATABASE_URL), then exit"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--check", action="store_true",
                        help="change nothing: exit 1 when a migration is due")  # fmt: skip


def run(args: argparse.Namespace) -> int:
    from service.blobs import scheme
    from service.persistence.database import open_engine
    from service.persistence.migrate import current_revision, head_revision, migrate
    from service.persistence.urls import redact
    from service.settings import load_settings

    settings = load_settings()
    urls = [settings.database]
    if scheme(settings.storage_url) == "postgresql":
        urls.append(str(settings.storage_url))
    if settings.queue_url and settings.queue_url != "local":
        urls.append(settings.queue_url)
    head, due = head_revision(), 0
    for url in dict.fromkeys(urls):
        engine = open_engine(url)
        try:
            current = current_revision(engine)
            if args.check:
                due += current != head
                print(f"visavis migrate: {redact(url)} at {current or 'no schema'} (newest {head})")
                continue
            before = migrate(engine)
            print(f"visavis migrate: {redact(url)} at {head} (was {before or 'empty'})")
        finally:
            engine.dispose()
    return 1 if due else 0
