"""The frame sizes a request or a setting may name: the names of ``renderer.framing.SIZES``
(which owns them), as one validated type for request models, settings and the CLI."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, WithJsonSchema

from renderer.framing import SIZES

SIZE_NAMES: tuple[str, ...] = tuple(SIZES)
DEFAULT_SIZE = SIZE_NAMES[0]


def check_size_name(value: str) -> str:
    """``value`` if it names a size, else ValueError naming the accepted ones."""
    if value not in SIZE_NAMES:
        raise ValueError(f"size {value!r} is not one of {', '.join(SIZE_NAMES)}")
    return value


SizeName = Annotated[
    str,
    AfterValidator(check_size_name),
    WithJsonSchema({"type": "string", "enum": list(SIZE_NAMES)}),
]
"""A size name in a pydantic model: validated, and listed as an enum in the OpenAPI schema."""
