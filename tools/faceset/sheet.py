"""A contact sheet per face: the photo beside what the renderer makes of it, labelled tiles."""

from __future__ import annotations

import cv2
import numpy as np

from avatars.motion import index
from renderer.render import Renderer

TILE_WIDTH = 320
COLUMNS = 4
_BAR = 18  # px of the label bar on each tile


def posed(renderer: Renderer, **channels: float) -> np.ndarray:
    """The resting frame with some channels set (e.g. ``headYaw=18``)."""
    motion = renderer.rest_motion()
    for name, value in channels.items():
        motion[index(name)] = value
    return renderer.render(motion)


def tile(image: np.ndarray, label: str, height: int) -> np.ndarray:
    """``image`` fitted into a TILE_WIDTH x ``height`` box on grey, with a label bar on top."""
    box = np.full((height, TILE_WIDTH, 3), 96, np.uint8)
    scale = min(TILE_WIDTH / image.shape[1], height / image.shape[0])
    size = (max(1, round(image.shape[1] * scale)), max(1, round(image.shape[0] * scale)))
    small = cv2.resize(image, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    y, x = (height - size[1]) // 2, (TILE_WIDTH - size[0]) // 2
    box[y : y + size[1], x : x + size[0]] = small
    bar = np.full((_BAR, TILE_WIDTH, 3), 255, np.uint8)
    cv2.putText(bar, label, (3, 13), cv2.FONT_HERSHEY_SIMPLEX, 0.42, (0, 0, 0), 1, cv2.LINE_AA)
    return np.concatenate([bar, box], axis=0)


def contact_sheet(title: str, tiles: list[tuple[str, np.ndarray]], frame_size: tuple[int, int]) -> np.ndarray:
    """(H, W, 3) RGB: a title bar, then ``tiles`` (label, RGB image) in rows of COLUMNS."""
    height = round(TILE_WIDTH * frame_size[1] / frame_size[0])
    cells = [tile(image, label, height) for label, image in tiles]
    while len(cells) % COLUMNS:
        cells.append(np.full_like(cells[0], 255))
    rows = [np.concatenate(cells[i : i + COLUMNS], axis=1) for i in range(0, len(cells), COLUMNS)]
    head = np.full((24, TILE_WIDTH * COLUMNS, 3), 255, np.uint8)
    cv2.putText(head, title, (4, 17), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1, cv2.LINE_AA)
    return np.concatenate([head, *rows], axis=0)
