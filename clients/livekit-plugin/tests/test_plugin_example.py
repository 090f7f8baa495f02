"""clients/examples/agent.py imports and builds its session with the installed livekit-agents
(the floor and the newest release alike), without connecting anywhere."""

from __future__ import annotations

import importlib.util
import itertools
from pathlib import Path
from types import ModuleType

import pytest
from livekit.agents import AgentServer, AgentSession
from plugin_helpers import LIVEKIT_KEY, LIVEKIT_SECRET

from livekit.plugins import visavis

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "agent.py"
_loads = itertools.count()


def load_example() -> ModuleType:
    """A fresh copy of the example module, reading the environment as it is now."""
    spec = importlib.util.spec_from_file_location(f"visavis_example_{next(_loads)}", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def test_the_example_registers_its_entrypoint_and_builds_its_session(monkeypatch):
    """Async because AgentSession binds to the running event loop."""
    monkeypatch.setenv("LIVEKIT_API_KEY", LIVEKIT_KEY)  # LiveKit Inference signs with these
    monkeypatch.setenv("LIVEKIT_API_SECRET", LIVEKIT_SECRET)
    example = load_example()
    assert isinstance(example.server, AgentServer)
    assert example.server._entrypoint_fnc is example.entrypoint

    session = example.build_session()
    assert isinstance(session, AgentSession)
    assert session.options.interruption["resume_false_interruption"] is False
    assert session.stt is not None and session.llm is not None and session.tts is not None
    # what the entrypoint calls on the avatar exists in this livekit-agents
    assert callable(visavis.AvatarSession.wait_for_join)


async def test_the_local_models_option(monkeypatch):
    monkeypatch.setenv("VISAVIS_AGENT_MODELS", "local")
    installed = all(
        importlib.util.find_spec(f"livekit.plugins.{name}") for name in ("openai", "silero")
    )
    if not installed:
        with pytest.raises(ImportError, match="pip install livekit-plugins-openai"):
            load_example()
        return
    session = load_example().build_session()
    assert type(session.llm).__module__.startswith("livekit.plugins.openai")
    assert session.vad is not None


def test_an_unknown_models_choice_is_named(monkeypatch):
    monkeypatch.setenv("VISAVIS_AGENT_MODELS", "cloud")
    with pytest.raises(ValueError, match="'inference' or 'local', got 'cloud'"):
        load_example()
