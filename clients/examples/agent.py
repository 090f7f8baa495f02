"""A LiveKit voice agent with a visavis face — the two lines are marked.

Run a visavis service (``visavis serve``) with a character, then:

    pip install -e clients/livekit-plugin
    export LIVEKIT_URL=wss://... LIVEKIT_API_KEY=... LIVEKIT_API_SECRET=...
    export VISAVIS_API_URL=http://127.0.0.1:8000 VISAVIS_API_KEY=vv_... VISAVIS_CHARACTER_ID=ch_...
    python clients/examples/agent.py dev

Speech and language models (``VISAVIS_AGENT_MODELS``):

- ``inference`` (default): LiveKit Inference model strings, billed to your LiveKit Cloud project.
- ``local``: no cloud keys. STT, LLM and TTS come from OpenAI-compatible servers on your own
  machine through ``livekit-plugins-openai``, with Silero's voice activity detection (its model
  ships in ``livekit-plugins-silero``)::

      pip install livekit-plugins-openai livekit-plugins-silero
      ollama serve; ollama pull llama3.2        # the LLM, at http://127.0.0.1:11434/v1
      # a Whisper STT and a TTS server that speak OpenAI's audio API (e.g. Speaches, serving
      # faster-whisper and Kokoro) at LOCAL_AUDIO_URL (default http://127.0.0.1:8001/v1)

  The model names are settings: LOCAL_LLM_MODEL, LOCAL_STT_MODEL, LOCAL_TTS_MODEL,
  LOCAL_TTS_VOICE (defaults below); LOCAL_LLM_URL points at another LLM server.
"""

from __future__ import annotations

import os
from typing import Any

from livekit.agents import Agent, AgentServer, AgentSession, JobContext, TurnHandlingOptions, cli
from livekit.plugins import visavis

MODELS = os.environ.get("VISAVIS_AGENT_MODELS", "inference")
if MODELS == "local":
    try:  # LiveKit plugins register on import, which must happen on the main thread: here
        from livekit.plugins import openai, silero
    except ImportError as exc:
        raise ImportError(
            "VISAVIS_AGENT_MODELS=local needs: pip install livekit-plugins-openai "
            "livekit-plugins-silero"
        ) from exc
elif MODELS != "inference":
    raise ValueError(f"VISAVIS_AGENT_MODELS must be 'inference' or 'local', got {MODELS!r}")

server = AgentServer()


def local_models() -> dict[str, Any]:
    """STT, LLM, TTS and VAD that run on this machine (see the module's docstring)."""
    audio_url = os.environ.get("LOCAL_AUDIO_URL", "http://127.0.0.1:8001/v1")
    return {
        "vad": silero.VAD.load(),  # OpenAI-style STT is not streaming: VAD cuts the turns
        "stt": openai.STT(
            base_url=audio_url,
            api_key="local",
            model=os.environ.get("LOCAL_STT_MODEL", "Systran/faster-whisper-small"),
        ),
        "llm": openai.LLM.with_ollama(
            model=os.environ.get("LOCAL_LLM_MODEL", "llama3.2"),
            base_url=os.environ.get("LOCAL_LLM_URL", "http://127.0.0.1:11434/v1"),
        ),
        "tts": openai.TTS(
            base_url=audio_url,
            api_key="local",
            model=os.environ.get("LOCAL_TTS_MODEL", "speaches-ai/Kokoro-82M-v1.0-ONNX"),
            voice=os.environ.get("LOCAL_TTS_VOICE", "af_heart"),
        ),
    }


def build_session() -> AgentSession:
    # The avatar plays the agent's audio and cannot pause it (DataStreamAudioOutput has no
    # pause), so a false interruption must not try to resume it: LiveKit's avatar examples
    # turn resuming off too.
    turn_handling = TurnHandlingOptions(interruption={"resume_false_interruption": False})
    if MODELS == "local":
        return AgentSession(turn_handling=turn_handling, **local_models())
    return AgentSession(
        stt="deepgram/nova-3",
        llm="openai/gpt-4.1-mini",
        tts="cartesia/sonic-2",
        turn_handling=turn_handling,
    )


@server.rtc_session()
async def entrypoint(ctx: JobContext) -> None:
    await ctx.connect()
    session = build_session()

    avatar = visavis.AvatarSession()  # line 1: the character, URL and key from VISAVIS_*
    await avatar.start(session, room=ctx.room)  # line 2
    await avatar.wait_for_join()  # the face is in the room before the agent first speaks

    await session.start(
        agent=Agent(instructions="You are a friendly assistant with a face."), room=ctx.room
    )
    session.generate_reply(instructions="Greet the user.")


if __name__ == "__main__":
    cli.run_app(server)
