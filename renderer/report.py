"""What character creation found and decided, for the API response and the CLI.

One place composes it: the photo's facts (``avatars.facts``), the framing at every output size for
the chosen fit (``renderer.framing``), and every warning a user should read.
"""

from __future__ import annotations

from typing import Any

from avatars.character import Character
from avatars.facts import PhotoFacts
from avatars.relaxation import HIDDEN, KEPT
from renderer.framing import DEFAULT_FIT, SIZES, parse_fit
from renderer.render import framing_for


def character_report(
    character: Character, fit: str = DEFAULT_FIT, sizes: tuple[str, ...] = tuple(SIZES)
) -> dict[str, Any]:
    """{"found", "framing", "resting", "warnings"}: plain data (JSON-ready), framing at
    ``sizes``; "resting" is what the relaxation of the photo did per part (``avatars.relax``)."""
    chosen = parse_fit(fit)
    framings = {name: framing_for(character, name, chosen) for name in sizes}
    warnings = list(character.notes)
    relaxation = character.relaxation
    for part in relaxation.parts:
        if part.action == KEPT:
            warnings.append(f"{part.part} kept as the resting state: {part.reason}")
        elif part.action == HIDDEN:
            warnings.append(f"{part.part} not animated: {part.reason}")
    warnings.extend(relaxation.notes)
    for framing in framings.values():  # one warning said once, whichever sizes it applies to
        warnings.extend(w for w in framing.warnings() if w not in warnings)
    return {
        "found": character.facts.to_dict() if character.facts is not None else None,
        "framing": {name: framing.to_dict() for name, framing in framings.items()},
        "resting": relaxation.to_dict(),
        "warnings": warnings,
    }


def with_current_policy(report: dict[str, Any]) -> dict[str, Any]:
    """A stored report (``character_report``) with what is this release's policy rather than a
    measurement worked out again: the head range, from the photo's pose (as the renderer does
    when it loads the character: ``PhotoFacts.from_dict``), and the warning that states it."""
    found = report.get("found")
    if not found:
        return report
    facts = PhotoFacts.from_dict(found)
    return report | {"found": facts.to_dict(), "warnings": facts.current_warnings(report["warnings"])}


def report_lines(report: dict[str, Any]) -> list[str]:
    """The report as short lines for a terminal."""
    lines = []
    found = report.get("found")
    if found:
        expression = ", ".join(f"{k} {v:.2f}" for k, v in found["expression"].items()) or "neutral"
        lines.append(
            f"face: {found['face_height_px']:.0f} px tall in a {found['photo_size'][0]}x"
            f"{found['photo_size'][1]} photo; yaw {found['yaw']:+.0f}°, pitch {found['pitch']:+.0f}°,"
            f" roll {found['roll']:+.0f}°; expression: {expression}"
        )
    for name, framing in report["framing"].items():
        lines.append(
            f"framing {name} ({framing['fit']}): face {framing['face_fraction']:.0%} of the frame "
            f"height, {framing['own_pixel_share']:.0%} of the frame from the photo"
        )
    for part in report["resting"]["parts"]:
        if part["action"] != "unchanged":
            lines.append(f"{part['part']}: {part['action']} ({part['reason']})")
    lines.extend(f"warning: {w}" for w in report["warnings"])
    return lines
