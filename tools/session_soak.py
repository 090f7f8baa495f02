"""The soak of ``make bench``: live sessions for minutes through the real service while their
control endpoints are fuzzed; it counts dead loops (a session that says it is open and sends no
frame for over a second), which must be zero.

Each session has its own client process (``tools.session_client``: speech and the partner's
microphone in 200 ms HTTP chunks, frames over the WebSocket, watching for silence); one more
process sends the sessions a stream of random requests: gestures known and unknown (and not
strings), interrupts, text to speak, audio bodies of any length, type, rate and channel count,
event streams opened and dropped. Every answer must be a 2xx or a 4xx; a 5xx is counted.

    .venv/bin/python -m tools.session_soak [--sessions 6] [--minutes 10] [--rate 10]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import random
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

from avatars.vocabulary import GESTURES


def _random_text(rng: random.Random) -> str:
    alphabet = "abcdefghijklmnopqrstuvwxyz ,.?!'éüßñ漢字🙂\u200b\t\n"
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 200)))


def _request(rng: random.Random, path: str) -> tuple[str, str, dict[str, Any]]:
    """(method, url, httpx keywords) of one random request to a session."""
    kind = rng.choice(["trigger", "trigger", "interrupt", "speak", "audio", "partner", "get"])
    if kind == "trigger":
        gesture: Any = rng.choice([*GESTURES, "explode", "", "NOD", "nod ", "a" * 70, 3, None, [], {}])
        return "POST", f"{path}/trigger", {"json": {"gesture": gesture}}
    if kind == "interrupt":
        return "POST", f"{path}/interrupt", {}
    if kind == "speak":
        body: dict[str, Any] = {"text": _random_text(rng)}
        if rng.random() < 0.3:
            body["engine"] = rng.choice(["espeak", "piper", "nope"])
        return "POST", f"{path}/speak", {"json": body}
    if kind == "get":
        return "GET", path, {}
    body_bytes = rng.randbytes(rng.choice([0, 1, 3, 640, 3201, 6400, 20_000]))
    params: dict[str, Any] = {
        "sample_rate": rng.choice([8000, 16000, 22050, 24000, 48000, 7999, 192001, -1]),
        "channels": rng.choice([1, 1, 2, 0, 9]),
    }
    if kind == "audio":
        params["end"] = rng.choice(["true", "false", "maybe"])
    content_type = rng.choice(["audio/L16", "audio/wav", "application/octet-stream", "text/plain"])
    route = "audio" if kind == "audio" else "partner-audio"
    return (
        "POST",
        f"{path}/{route}",
        {"params": params, "content": body_bytes, "headers": {"Content-Type": content_type}},
    )


async def _fuzz(url: str, headers: dict[str, str], sessions: list[str], seconds: float,
                rate: float, seed: int) -> dict[str, int]:  # fmt: skip
    rng = random.Random(seed)
    statuses: Counter[str] = Counter()
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=30) as http:
        started = time.monotonic()
        k = 0
        # paced at ``rate`` but bounded by the clock: on a loaded machine an answer (a /speak
        # runs TTS) can take longer than the pace, and the fuzzer must end with the sessions
        while time.monotonic() < started + seconds:
            await asyncio.sleep(max(0.0, started + k / rate - time.monotonic()))
            k += 1
            method, path, kwargs = _request(rng, f"/v1/sessions/{rng.choice(sessions)}")
            try:
                response = await http.request(method, path, **kwargs)
                statuses[str(response.status_code)] += 1
            except httpx.HTTPError as exc:
                statuses[type(exc).__name__] += 1
            if rng.random() < 0.02:  # an events stream opened and dropped
                try:
                    async with http.stream("GET", f"/v1/sessions/{rng.choice(sessions)}/events"):
                        pass
                except httpx.HTTPError:
                    statuses["events-error"] += 1
    statuses["sent"] = k
    return dict(statuses)


def run_fuzzer(url: str, headers: dict[str, str], sessions: list[str], seconds: float,
               rate: float, out: Any) -> None:  # fmt: skip
    out.put(asyncio.run(_fuzz(url, headers, sessions, seconds, rate, seed=14)))


def run(sessions: int = 6, minutes: float = 10.0, rate: float = 10.0) -> dict[str, float]:
    from tools.session_bench import start_server, stop_server
    from tools.session_client import run_client

    seconds = minutes * 60
    here = Path(__file__).resolve().parents[1]
    with tempfile.TemporaryDirectory(prefix="visavis-soak-") as folder:
        # the soak is about dead loops: admission control must not turn its sessions away
        # (a shared machine makes them miss frames; that is measured, not refused)
        limits = {"VISAVIS_MAX_SESSIONS": str(sessions), "VISAVIS_ADMISSION_MISSED_PERCENT": "100",
                  "VISAVIS_MAX_LIVE_SESSIONS_PER_KEY": str(sessions)}  # one key opens them all
        server = start_server("soak", here, Path(folder), limits)
        try:
            sids = []
            for _ in range(sessions):
                made = httpx.post(f"{server.url}/v1/sessions", headers=server.headers,
                                  json={"character_id": server.character}, timeout=120)  # fmt: skip
                made.raise_for_status()
                sids.append(made.json()["id"])
            context = multiprocessing.get_context("spawn")
            out = context.Queue()
            fuzz_out = context.Queue()
            processes = [
                context.Process(target=run_client,
                                args=(server.url, server.headers, sid, seconds, seed, out))
                for seed, sid in enumerate(sids)
            ]  # fmt: skip
            processes.append(context.Process(
                target=run_fuzzer, args=(server.url, server.headers, sids, seconds, rate, fuzz_out)
            ))  # fmt: skip
            print(f"soak: {sessions} sessions for {minutes:g} min, control endpoints fuzzed at "
                  f"{rate:g} requests/s; load average {os.getloadavg()[0]:.1f}", flush=True)  # fmt: skip
            before = server.metrics()
            for process in processes:
                process.start()
            reports = [out.get(timeout=seconds + 300) for _ in sids]
            statuses = fuzz_out.get(timeout=120)
            for process in processes:
                process.join(60)
            after = server.metrics()
            states = [
                httpx.get(f"{server.url}/v1/sessions/{sid}", headers=server.headers,
                          timeout=30).json()
                for sid in sids
            ]  # fmt: skip
        finally:
            stop_server(server)
    dead = sum(r["dead_loops"] for r in reports)
    frames = after["visavis_realtime_frames_total"] - before["visavis_realtime_frames_total"]
    missed = (
        after["visavis_realtime_missed_frames_total"]
        - before["visavis_realtime_missed_frames_total"]
    )
    sent = statuses.pop("sent", 0)
    server_errors = sum(n for code, n in statuses.items() if code.startswith("5"))
    for sid, report, state in zip(sids, reports, states, strict=True):
        fps = report["frames"] / report["seconds"] if report["seconds"] else 0.0
        print(f"soak {sid}: {state['status']}{' (' + str(state.get('error')) + ')' if state.get('error') else ''}, "
              f"{report['frames']} frames ({fps:.1f} fps), longest gap "
              f"{report['longest_gap_ms']:.0f} ms, dead loops {report['dead_loops']}"
              f"{', stream ended: ' + report['close'] if report['close'] else ''}", flush=True)  # fmt: skip
    print(f"soak: {sent} fuzzed requests ({sent / seconds:.1f}/s), answers "
          f"{json.dumps(dict(sorted(statuses.items())))}", flush=True)  # fmt: skip
    print(
        f"soak: {dead} dead loops, {sum(s['status'] == 'failed' for s in states)} sessions "
        f"failed visibly, {server_errors} server errors; missed "
        f"{100 * missed / max(frames, 1):.2f}% of {frames:.0f} frames; load average "
        f"{os.getloadavg()[0]:.1f}",
        flush=True,
    )
    return {
        "soak_dead_loops": float(dead),
        "soak_server_errors": float(server_errors),
        "soak_missed_fraction": missed / max(frames, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=6)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=10.0, help="fuzzed requests per second")
    args = parser.parse_args(argv)
    if not 1 <= args.sessions <= 64:
        raise SystemExit(f"--sessions must be in 1..64, got {args.sessions}")
    if not 0.2 <= args.minutes <= 24 * 60:
        raise SystemExit(f"--minutes must be in 0.2..1440, got {args.minutes}")
    if not 0 < args.rate <= 1000:
        raise SystemExit(f"--rate must be in (0, 1000], got {args.rate}")
    result = run(args.sessions, args.minutes, args.rate)
    return 1 if result["soak_dead_loops"] or result["soak_server_errors"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
