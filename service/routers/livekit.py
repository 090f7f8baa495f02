"""``/v1/livekit/dispatch``: start an avatar worker for a LiveKit room.

Give the room, the server URL and either a token for the avatar (kind agent, with
``lk.publish_on_behalf``) or the project's API key and secret, from which the avatar's token is
minted here with the least grants. The secret is used once to sign and never stored or logged.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Request, status
from pydantic import Field, SecretStr, model_validator

from service.access import usable_character
from service.auth import Owner, Secret
from service.deps import FactoryDep, SettingsDep, StoreDep
from service.errors import ApiError, documented
from service.pagination import Page, PageQuery, page_in_memory, page_out
from service.realtime.parts import SessionSpec
from service.sizes import DEFAULT_SIZE, SizeName
from service.strict import RequestModel, ResponseModel, StrictRoute
from service.times import utc
from service.transports.livekit.dispatch import (
    AgentBusyError,
    AvatarDispatcher,
    Dispatch,
    DispatchLimitError,
    check_token_for_room,
)
from service.transports.livekit.tokens import mint_avatar_token
from service.transports.livekit.worker import AvatarWorkerOptions

log = logging.getLogger(__name__)

MAX_WORKERS = 8
BUSY_RETRY_S = 30
"""Retry-After when every avatar worker slot is taken (a room lasts minutes)."""
_URL = re.compile(r"^(wss?|https?)://[^\s/]+(/\S*)?$")


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    app.state.livekit = AvatarDispatcher(max_workers=MAX_WORKERS)
    try:
        yield
    finally:
        dispatcher, app.state.livekit = app.state.livekit, None
        await dispatcher.aclose()


router = APIRouter(
    prefix="/v1/livekit", tags=["livekit"], lifespan=lifespan, route_class=StrictRoute,
    responses=documented(401, 403, 404, 422, 429, 503),
)  # fmt: skip


def get_dispatcher(request: Request) -> AvatarDispatcher:
    dispatcher = getattr(request.app.state, "livekit", None)
    if dispatcher is None:
        raise ApiError(503, "service is starting or stopping: livekit is not ready",
                       headers={"Retry-After": "2"})  # fmt: skip
    return dispatcher  # type: ignore[no-any-return]


DispatcherDep = Annotated[AvatarDispatcher, Depends(get_dispatcher)]


class DispatchIn(RequestModel):
    room: str = Field(min_length=1, max_length=256, description="the LiveKit room to join")
    url: str = Field(
        max_length=2048, description="LiveKit server, e.g. wss://example.livekit.cloud"
    )
    character_id: str = Field(min_length=1, max_length=200)
    token: SecretStr | None = Field(default=None, description="the avatar's token, ready made")
    api_key: str | None = Field(default=None, max_length=256)
    api_secret: SecretStr | None = Field(default=None, description="signs the minted token only")
    agent_identity: str | None = Field(
        default=None, max_length=256, description="the agent the avatar speaks for"
    )
    avatar_identity: str = Field(default="visavis-avatar", min_length=1, max_length=256)
    size: SizeName = DEFAULT_SIZE
    seed: int | None = Field(default=None, ge=0, lt=2**32)

    @model_validator(mode="after")
    def _credentials(self) -> DispatchIn:
        if not _URL.match(self.url):
            raise ValueError(f"url {self.url!r} is not a ws://, wss://, http:// or https:// URL")
        minting = self.api_key is not None or self.api_secret is not None
        if self.token is not None and minting:
            raise ValueError("give either token, or api_key and api_secret, not both")
        if self.token is None and not (self.api_key and self.api_secret):
            raise ValueError("give a token for the avatar, or api_key and api_secret to mint one")
        if minting and not self.agent_identity:
            raise ValueError("agent_identity is needed to mint a token (lk.publish_on_behalf)")
        return self

    def avatar_token(self) -> str:
        if self.token is not None:
            return self.token.get_secret_value()
        assert self.api_key and self.api_secret and self.agent_identity
        return mint_avatar_token(
            api_key=self.api_key,
            api_secret=self.api_secret.get_secret_value(),
            room=self.room,
            identity=self.avatar_identity,
            on_behalf_of=self.agent_identity,
        )


class DispatchOut(ResponseModel):
    id: str
    room: str
    character_id: str
    avatar_identity: str
    state: str
    end_reason: str | None
    reconnects: int
    created: datetime


def _out(dispatch: Dispatch) -> DispatchOut:
    fields = dispatch.as_dict()
    return DispatchOut(**{**fields, "created": utc(fields["created"])})


def _busy(exc: Exception) -> ApiError:
    return ApiError(429, str(exc), headers={"Retry-After": str(BUSY_RETRY_S)})


@router.post("/dispatch", status_code=status.HTTP_202_ACCEPTED, response_model=DispatchOut,
             responses=documented(409))  # fmt: skip
async def dispatch_avatar(
    body: DispatchIn,
    caller: Secret,
    store: StoreDep,
    factory: FactoryDep,
    dispatcher: DispatcherDep,
    settings: SettingsDep,
) -> DispatchOut:
    """Start an avatar worker that joins ``room`` and gives its agent a face."""
    # loaded here first: a missing (404) or damaged (409) character is this request's error
    character = await usable_character(store, body.character_id, caller)
    try:
        dispatcher.check_capacity()
        token = body.avatar_token()
        check_token_for_room(token, body.room)  # before the costly session build
        folder = str(store.folder(body.character_id))
        spec = SessionSpec(folder, size=body.size, seed=body.seed, device=settings.device,
                           fit=character.fit)  # fmt: skip
        session = await factory.open(spec)  # on the frame workers the REST sessions use
    except DispatchLimitError as exc:
        raise _busy(exc) from None
    except ValueError as exc:
        raise ApiError(422, str(exc)) from None
    try:
        dispatch = dispatcher.start(
            owner=caller.owner,
            url=body.url,
            token=token,
            room=body.room,
            character_id=body.character_id,
            session=session,
            options=AvatarWorkerOptions(agent_identity=body.agent_identity),
        )
    except BaseException as exc:
        await session.aclose()  # never started: nothing else holds it
        if isinstance(exc, DispatchLimitError):
            raise _busy(exc) from None
        if isinstance(exc, AgentBusyError):
            raise ApiError(409, str(exc)) from None
        if isinstance(exc, ValueError):
            raise ApiError(422, str(exc)) from None
        raise
    return _out(dispatch)


def _find(dispatcher: AvatarDispatcher, dispatch_id: str, owner: str) -> Dispatch:
    dispatch = dispatcher.get(dispatch_id, owner=owner)
    if dispatch is None:
        raise ApiError(404, f"no dispatch {dispatch_id!r}")
    return dispatch


@router.get("/dispatch", response_model=Page[DispatchOut])
async def list_dispatches(
    owner: Owner, dispatcher: DispatcherDep, page: PageQuery
) -> Page[DispatchOut]:
    """The owner's avatar workers of this process, newest first."""
    rows = page_in_memory(dispatcher.list(owner=owner), page, lambda d: (d.created, d.id))
    return page_out(rows, _out)


@router.get("/dispatch/{dispatch_id}", response_model=DispatchOut)
async def get_dispatch(dispatch_id: str, owner: Owner, dispatcher: DispatcherDep) -> DispatchOut:
    return _out(_find(dispatcher, dispatch_id, owner))


@router.delete("/dispatch/{dispatch_id}", status_code=status.HTTP_204_NO_CONTENT)
async def stop_dispatch(dispatch_id: str, owner: Owner, dispatcher: DispatcherDep) -> None:
    """Make the avatar leave its room."""
    await dispatcher.stop(_find(dispatcher, dispatch_id, owner))
