"""deploy/ (the compose file and the systemd units, which cannot be run here) stays consistent
with the code and with what tests/multinode runs: every command is a ``visavis`` subcommand,
every ``VISAVIS_*`` variable a setting with a value the settings accept, API nodes leave clips
to the clip workers, workers serve their metrics."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from service.cli import COMMANDS
from service.settings import Settings, load_settings

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"
KNOWN = {f"VISAVIS_{name.upper()}" for name in Settings.model_fields}


def _check_settings(env: dict[str, str], monkeypatch: pytest.MonkeyPatch, where: str) -> None:
    unknown = {name for name in env if name.startswith("VISAVIS_")} - KNOWN
    assert not unknown, f"{where}: no such settings {sorted(unknown)}"
    with monkeypatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value.replace("%i", "9101"))
        load_settings()  # raises on a value the settings refuse


def test_the_compose_file_runs_visavis_commands_with_valid_settings(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    ours = {name: service for name, service in compose["services"].items()
            if service.get("image") == "visavis:latest"}  # fmt: skip
    assert set(ours) == {"migrate", "api", "clip-worker", "livekit-worker"}
    for name, service in ours.items():
        command = service["command"]
        assert command[0] == "visavis" and command[1] in COMMANDS, (name, command)
        _check_settings({k: str(v) for k, v in service["environment"].items()}, monkeypatch, name)
    assert ours["api"]["environment"]["VISAVIS_CLIP_WORKERS"] == "0"  # as tests/multinode
    assert "VISAVIS_METRICS_PORT" in ours["clip-worker"]["environment"]
    assert "VISAVIS_METRICS_PORT" in ours["livekit-worker"]["environment"]


def test_the_systemd_units_run_visavis_commands_with_valid_settings(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    example = {}
    for line in (DEPLOY / "systemd" / "visavis.env.example").read_text().splitlines():
        if line and not line.startswith("#"):
            name, value = line.split("=", 1)
            example[name] = value
    _check_settings(example, monkeypatch, "visavis.env.example")
    units = sorted((DEPLOY / "systemd").glob("*.service"))
    assert [u.name for u in units] == ["visavis-api@.service", "visavis-clip-worker@.service",
                                       "visavis-migrate.service", "visavis-worker.service"]  # fmt: skip
    for unit in units:
        lines = [line.split("=", 1) for line in unit.read_text().splitlines() if "=" in line
                 and not line.startswith("#")]  # fmt: skip
        starts = [value.split() for key, value in lines if key == "ExecStart"]
        assert len(starts) == 1, unit.name
        command = starts[0]
        assert command[0] == "/opt/visavis/.venv/bin/visavis" and command[1] in COMMANDS, unit.name
        env = dict(example)
        for key, value in lines:  # a unit may have several Environment= lines
            if key == "Environment":
                env.update(assignment.split("=", 1) for assignment in value.split())  # type: ignore[misc]
        _check_settings(env, monkeypatch, unit.name)
