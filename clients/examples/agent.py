"""A LiveKit voice agent with a visavis face — the two lines are marked.

Run a visavis service (``visavis serve``) with a character, then:

    export LIVEKIT_URL=wss://... LIVEKIT_API_KEY=... LIVEKIT_API_SECRET=...
    export VISAVIS_API_URL=http://127.0.0.1:8000 VISAVIS_API_KEY=vv_... VISAVIS_CHARACTER=ch_...
    python clients/examples/agent.py dev

The agent's STT/LLM/TTS are whatever your agent already uses; here they come from LiveKit
Inference model strings so the example stays short.
"""

from __future__ import annotations

import os

from livekit.agents import Agent, AgentServer, AgentSession, JobContext, cli
from livekit.plugins import visavis

server = AgentServer()


@server.rtc_session()
async def entrypoint(ctx: JobContext) -> None:
    await ctx.connect()
    session = AgentSession(stt="deepgram/nova-3", llm="openai/gpt-4.1-mini", tts="cartesia/sonic-2")

    avatar = visavis.AvatarSession(character_id=os.environ["VISAVIS_CHARACTER"])  # line 1
    await avatar.start(session, room=ctx.room)  # line 2

    await session.start(
        agent=Agent(instructions="You are a friendly assistant with a face."), room=ctx.room
    )
    await session.generate_reply(instructions="Greet the user.")


if __name__ == "__main__":
    cli.run_app(server)
