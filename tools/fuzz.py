"""Schemathesis against the service's own OpenAPI schema, on a real server: every check
(server errors, undocumented statuses, schema and header conformance, auth, ...) over every
phase (examples, coverage, fuzzing, stateful), within a time budget.

``python -m tools.fuzz --max-time 90`` (``make test`` runs this budget through
tests/tools/test_fuzz.py); ``make fuzz`` (called by ``make bench``) runs the full budget. The server
runs on 127.0.0.1 with a fresh data folder, an admin key and one character, so the stateful phase
has something to link to. Exit status 0 only when schemathesis found nothing.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FULL_SECONDS = 600
CONFIG = Path(__file__).with_name("schemathesis.toml")
ADMIN_KEY = "fuzz-admin-key-0123456789abcdef"
SETTINGS = {
    "admin_key": ADMIN_KEY,
    "max_upload_mb": "2",
    "max_audio_seconds": "5",
    "max_text_chars": "200",
    "frame_workers": "0",
    "warm_frame_workers": "false",
    "clip_workers": "1",
}


def _character(url: str) -> str:
    """One stored character (the astronaut) so that lookups can succeed."""
    import io

    import httpx
    from PIL import Image
    from skimage import data

    buffer = io.BytesIO()
    Image.fromarray(data.astronaut()).save(buffer, format="PNG")
    made = httpx.post(f"{url}/v1/characters", headers={"X-API-Key": ADMIN_KEY},
                      files={"image": ("astronaut.png", buffer.getvalue(), "image/png")},
                      timeout=120)  # fmt: skip
    made.raise_for_status()
    return str(made.json()["id"])


def fuzz(max_time: int, *, report: Path | None = None, workers: int = 1) -> int:
    """Run schemathesis for ``max_time`` seconds against a fresh server; its exit status."""
    from tools.local_server import running_server

    with tempfile.TemporaryDirectory(prefix="visavis-fuzz-") as tmp, \
            running_server(Path(tmp), SETTINGS) as server:  # fmt: skip
        character = _character(server.url)
        command = [
            str(Path(sys.executable).with_name("schemathesis")), "--config-file", str(CONFIG),
            "run",
            f"{server.url}/openapi.json", "--checks", "all", "--max-time", str(max_time),
            "--workers", str(workers), "-H", f"X-API-Key: {ADMIN_KEY}",
            "--request-timeout", "30", "--no-color",
        ]  # fmt: skip
        if report is not None:
            command += ["--report", "junit", "--report-dir", str(report)]
        print(f"fuzz: {server.url} character {character}, {max_time} s", flush=True)
        started = time.monotonic()
        done = subprocess.run(command, check=False)
        print(f"fuzz: schemathesis exited {done.returncode} after "
              f"{time.monotonic() - started:.0f} s", flush=True)  # fmt: skip
        log = Path(tmp) / f"uvicorn-{server.port}.log"
        errors = [line for line in log.read_text().splitlines() if "Traceback" in line]
        if errors:
            print(f"fuzz: the server logged {len(errors)} tracebacks:\n{log.read_text()[-4000:]}")
        return done.returncode or (1 if errors else 0)


def run() -> dict[str, float]:
    """``make bench``'s part: the full budget."""
    started = time.monotonic()
    status = fuzz(FULL_SECONDS)
    return {"fuzz_exit_status": float(status), "fuzz_seconds": time.monotonic() - started}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--max-time", type=int, default=FULL_SECONDS, help="seconds of fuzzing")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--report", type=Path, default=None, help="a folder for a JUnit report")
    args = parser.parse_args(argv)
    return fuzz(args.max_time, report=args.report, workers=args.workers)


if __name__ == "__main__":
    sys.exit(main())
