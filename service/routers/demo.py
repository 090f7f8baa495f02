"""The demo pages (``/demo``, ``/demo/live``): on only when ``visavis demo`` (``make demo``)
started the service and put its publishable key and character on ``app.state.demo``; 404
otherwise. The pages carry that publishable key (``pk_...``: this origin, this character), never
a secret key."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from service.errors import ApiError

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)

DEMO_SENTENCE = "Hello! I am your visavis avatar. I speak when your agent speaks, and I listen."
STATIC = Path(__file__).resolve().parents[1] / "static"
CLIP_PAGE = STATIC / "demo.html"
LIVE_PAGE = STATIC / "live.html"


@router.get("/demo", response_class=HTMLResponse)
def demo_page(request: Request) -> HTMLResponse:
    """A sentence as a clip over the REST API."""
    return _page(request, CLIP_PAGE)


@router.get("/demo/live", response_class=HTMLResponse)
def live_page(request: Request) -> HTMLResponse:
    """A real-time session: frames over the WebSocket, the microphone as the partner stream."""
    return _page(request, LIVE_PAGE)


def _page(request: Request, page: Path) -> HTMLResponse:
    demo: dict[str, str] | None = getattr(request.app.state, "demo", None)
    if demo is None:
        raise ApiError(404, "the demo page is off; start the service with `make demo`")
    config = json.dumps({"apiKey": demo["publishable_key"], "characterId": demo["character_id"],
                         "sentence": DEMO_SENTENCE})  # fmt: skip
    html = page.read_text().replace("/*DEMO_CONFIG*/null", config.replace("</", "<\\/"))
    return HTMLResponse(html, headers={"Cache-Control": "no-store"})


