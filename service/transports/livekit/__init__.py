"""The avatar as a participant in a LiveKit room: our ``VideoGenerator`` on the session engine,
the avatar worker (dispatched per room, or registered with a LiveKit server), token helpers."""
