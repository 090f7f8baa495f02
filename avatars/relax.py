"""Relaxing an expressive reference photo, once, when its character is built.

A photo with parted lips, a toothy smile, raised or lowered brows or narrowed eyes is turned into
the same person at rest before the rig is built, so that the renderer animates a face at rest
(the case it does well) and never has to undo an expression frame by frame (which folded skin
over the eyes, and painted a band over teeth it could not hide). Per part:

- mouth: parted lips close by moving the lips themselves. The jaw comes up part of the way (the
  rig's jawOpen field, never pushing the lower lip through the upper one near the corners), then
  both lips meet on a seam (``avatars.lips``) that the exact warp (``avatars.piecewise``)
  collapses: no pixel of teeth or mouth is left;
- smile: a moderate smile has its corners lowered with the rig's smile fields; a broad one stays
  in the picture (its raised cheeks and folds are the photo's texture: lowering the corners alone
  makes a grimace), with the lips closed over its teeth;
- brows: raised brows come down, lowered ones up, towards a resting height above the lids. The
  skin between brow and lid takes the change evenly and the lid stays (the rig's browInnerUp
  field, run backwards, squeezed it all into the lid's crease and folded the brow over the lid);
  never further than that skin allows: no triangle of the mesh there may shrink below
  ``_LEAST_AREA`` of its area;
- lids: narrowed eyes are kept (the photo has no pixels of the iris to open them with); eyes
  behind dark glasses are hidden: the lids are not animated (``avatars.lenses``).

Any part whose movement would turn a triangle over is scaled back until none does. The relaxed
picture is measured again with MediaPipe (the honest check that the lips now read as closed) and
the rig is built from that. The ``Relaxation`` record (``avatars.relaxation``) says what was
found and done; the blendshapes of a part that cannot be moved back any further count as 0 for
the renderer, so motion never undoes more than the picture allows.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from avatars import face as fm
from avatars import lenses, lips
from avatars import piecewise as pw
from avatars.face import FaceMeasurer
from avatars.images import FaceNotFoundError, measure_again
from avatars.motion import BLENDSHAPES, index
from avatars.relaxation import (
    HIDDEN,
    KEPT,
    PARTLY,
    PARTS,
    RELAXED,
    UNCHANGED,
    PartRelaxation,
    Relaxation,
)
from avatars.rig import Rig, build_rig

log = logging.getLogger(__name__)

# Face heights unless said otherwise. Lips further apart than this (the middle of the mouth) are
# closed; MediaPipe's inner-lip line on closed lips stays well under it.
_PARTED = 0.012
# the jaw closes up to this share of the gap (the lips close the rest), as far as MediaPipe reads
# the jaw open: from jawOpen _JAW_FROM (a toothy smile reads about 0.1) to _JAW_FULL
_JAW_SHARE, _JAW_FROM, _JAW_FULL = 0.7, 0.1, 0.4
# a smile above _SMILE_FROM whose corners are raised above LIFT_REST (about level with the
# middle of the mouth) is lowered to it, unless it is broad: then it is kept
_SMILE_FROM, _SMILE_BROAD, _LIFT_BROAD = 0.4, 0.75, 0.045
LIFT_REST = 0.012
# brows (mean brow height over the upper lid): raised above _BROW_HIGH come _BROW_SHARE of the
# way down to _BROW_REST; lowered below _BROW_LOW come up to it, at most _BROW_RAISE. Half way:
# how high a person's brows rest is theirs (shaped, arched brows sit high), and brought all the
# way down they made another person to dlib's descriptor (rihanna_tight's median distance from
# her photo 0.46, 0.42 half way; audrey_pitched 0.27, 0.16) and looked heavy-lidded and stern
_BROW_HIGH, _BROW_REST, _BROW_LOW, _BROW_RAISE = 0.1, 0.092, 0.065, 0.02
_BROW_SHARE = 0.5
_BROW_RAISED, _BROW_OUTER_RAISED, _BROW_LOWERED = 0.25, 0.35, 0.5  # MediaPipe's scores
_FOREHEAD = 0.15  # above the brows the forehead follows them, less and less up to this far
_BROW_SIDE = 0.06  # beside a brow's ends its movement fades out over this
# lids: an eye open less than this share of its width, or blinking this much, is narrowed
_NARROW, _NARROW_BLINK = 0.14, 0.45
_LEAST_AREA = 0.5  # no triangle the brows move may shrink below this share of its area
_BACK_OFF = 0.8  # a part whose movement turns a triangle over is scaled by this, and tried again
_JAW = index("jawOpen")


@dataclass(frozen=True)
class RelaxedPhoto:
    """The picture at rest, measured again, and what was done."""

    picture: np.ndarray  # (H, W, 3) uint8
    landmarks: np.ndarray  # (478, 3) on ``picture``
    expression: np.ndarray  # (52,) measured on ``picture``, 0 for the parts at rest
    transform: np.ndarray  # (4, 4)
    record: Relaxation
    teeth: np.ndarray | None  # (3,) RGB of the teeth the original photo showed, if any


@dataclass
class _Plan:
    """Per part: the decision, and the displacement (V, 2) px of the rig's vertices that carries
    it out at full strength (the mouth's: the jaw's share; the lips close on top of it)."""

    found: dict[str, dict[str, float]]
    action: dict[str, str]
    reason: dict[str, str]
    fields: dict[str, np.ndarray]
    close: bool = False


def relax_photo(
    picture: np.ndarray,
    landmarks: np.ndarray,
    expression: np.ndarray,
    transform: np.ndarray,
    measurer: FaceMeasurer,
) -> RelaxedPhoto:
    """Relax ``picture`` (its face measured as ``landmarks`` (478, 3), ``expression`` (52,),
    ``transform`` (4, 4)); ``measurer`` reads the relaxed picture again."""
    rig = build_rig(landmarks)
    plan = _plan(picture, landmarks, expression, rig)
    teeth = lips.teeth_color(picture, landmarks)
    if not plan.close and not any(np.any(f) for f in plan.fields.values()):
        record = _record(plan, None, warped=False)
        return RelaxedPhoto(picture=picture, landmarks=landmarks, transform=transform,
                            expression=record.resting(expression), record=record, teeth=teeth)  # fmt: skip
    relaxed, moved, seam = _warp(picture, landmarks, rig, plan)
    notes: list[str] = []
    if plan.close:
        relaxed = lips.shade_seam(relaxed, seam, rig.face_height)
    try:
        face = measure_again(relaxed, measurer, landmarks)
        marks, shapes, pose = face.landmarks, face.blendshape_vector(), face.transform
    except FaceNotFoundError:
        notes.append("MediaPipe finds no face on the relaxed picture; its landmarks are the moved ones")
        marks, shapes, pose = moved, expression, transform
    after = _measures(marks, shapes, build_rig(marks))
    gap = after["mouth"]["lip_gap"]
    if plan.close and gap > 2 * _PARTED:
        # what lies between the lips (a tongue out) stays: the open mouth is the resting state
        plan.action["mouth"], plan.reason["mouth"] = KEPT, _kept_parted(gap)
    elif plan.close and gap > _PARTED:
        notes.append(_thin_lips(gap))
    record = _record(plan, after, warped=True, notes=tuple(notes))
    log.info("photo relaxed %s", " ".join(f"{p.part}={p.action}" for p in record.parts))
    return RelaxedPhoto(picture=relaxed, landmarks=np.asarray(marks, np.float32),
                        expression=record.resting(shapes), transform=np.asarray(pose, np.float32),
                        record=record, teeth=teeth)  # fmt: skip


def _kept_parted(gap: float) -> str:
    """Why a mouth MediaPipe still reads well apart on the relaxed picture is kept: what the
    photo shows between the lips stays (einstein_tongue's tongue out, 0.044 face heights)."""
    return (f"the lips still read {gap:.3f} face heights apart once brought together: what the photo "
            "shows between them (a tongue out) stays, so the mouth rests parted, also while "
            "listening; a photo with the lips closed will rest closed")  # fmt: skip


def _thin_lips(gap: float) -> str:
    """The note for closed lips MediaPipe reads a little apart: the thin closed lips of a
    relaxed laugh on a small face (children read 0.022 before the line where the lips meet was
    mended, ``lips.shade_seam``, and none of the face set reads so now; dlib read them shut)."""
    return (f"MediaPipe reads the closed lips {gap:.3f} face heights apart (thin lips, a small face): "
            "listening, they may read as slightly parted")  # fmt: skip


def _record(
    plan: _Plan, after: dict[str, dict[str, float]] | None, *, warped: bool, notes: tuple[str, ...] = ()
) -> Relaxation:
    def pairs(values: dict[str, float]) -> tuple[tuple[str, float], ...]:
        return tuple((k, round(float(v), 4)) for k, v in values.items())

    parts = tuple(
        PartRelaxation(part=name, action=plan.action[name], reason=plan.reason[name],
                       found=pairs(plan.found[name]), after=pairs(after[name]) if after else ())
        for name in PARTS
    )  # fmt: skip
    return Relaxation(parts=parts, warped=warped, notes=notes)


def _measures(landmarks: np.ndarray, expression: np.ndarray, rig: Rig) -> dict[str, dict[str, float]]:
    """Per part, what the face shows: MediaPipe's scores and distances in face heights."""
    xy = landmarks[:, :2].astype(np.float64)
    fh, ey = rig.face_height, rig.axes[1].astype(np.float64)
    e = {name: float(expression[index(name)]) for name in BLENDSHAPES}
    gaps = lips.inner_gaps(landmarks, rig.axes.astype(np.float64))
    center = (xy[13] + xy[14]) / 2
    corners = (xy[fm.MOUTH_LEFT_CORNER] + xy[fm.MOUTH_RIGHT_CORNER]) / 2
    brow_lid, openness = [], []
    for brow, upper, lower in ((fm.RIGHT_BROW, fm.RIGHT_EYE_UPPER, fm.RIGHT_EYE_LOWER),
                               (fm.LEFT_BROW, fm.LEFT_EYE_UPPER, fm.LEFT_EYE_LOWER)):  # fmt: skip
        brow_lid.append(float((xy[list(upper)] @ ey).mean() - (xy[list(brow)] @ ey).mean()) / fh)
        width = float(np.linalg.norm(xy[upper[0]] - xy[upper[-1]]))
        gap = float(np.mean((xy[list(lower[2:-2])] - xy[list(upper[2:-2])]) @ ey))
        openness.append(gap / max(width, 1e-6))
    return {
        "mouth": {"lip_gap": float(gaps[2:-2].mean()) / fh, "jawOpen": e["jawOpen"]},
        "smile": {"mouthSmile": (e["mouthSmileLeft"] + e["mouthSmileRight"]) / 2,
                  "corner_lift": float((center - corners) @ ey) / fh},
        "brows": {"browInnerUp": e["browInnerUp"],
                  "browOuterUp": (e["browOuterUpLeft"] + e["browOuterUpRight"]) / 2,
                  "browDown": (e["browDownLeft"] + e["browDownRight"]) / 2,
                  "brow_to_lid_right": brow_lid[0], "brow_to_lid_left": brow_lid[1]},
        "lids": {"eyeBlink": (e["eyeBlinkLeft"] + e["eyeBlinkRight"]) / 2,
                 "openness_right": openness[0], "openness_left": openness[1]},
    }  # fmt: skip


def _plan(picture: np.ndarray, landmarks: np.ndarray, expression: np.ndarray, rig: Rig) -> _Plan:
    plan = _Plan(found=_measures(landmarks, expression, rig), action={}, reason={}, fields={})
    shades = lenses.eye_shades(picture, landmarks, rig.face_height)
    for side, (bright, spread) in zip(("right", "left"), shades, strict=True):
        if np.isfinite(bright):  # lids that enclose no pixel have no shade to record
            plan.found["lids"] |= {f"eye_bright_{side}": bright, f"eye_spread_{side}": spread}
    zero = np.zeros((len(rig.vertices), 2))
    plan.fields = {name: zero for name in PARTS}
    _plan_mouth(plan, expression, rig)
    _plan_smile(plan, rig)
    _plan_brows(plan, landmarks, expression, rig)
    _plan_lids(plan, lenses.eyes_hidden(shades))
    return plan


def _plan_mouth(plan: _Plan, expression: np.ndarray, rig: Rig) -> None:
    gap = plan.found["mouth"]["lip_gap"]
    if gap <= _PARTED:
        plan.action["mouth"], plan.reason["mouth"] = UNCHANGED, f"lips closed (gap {max(gap, 0.0):.3f})"
        return
    jaw = float(expression[_JAW])
    share = _JAW_SHARE * float(np.clip((jaw - _JAW_FROM) / (_JAW_FULL - _JAW_FROM), 0.0, 1.0))
    basis = rig.basis[_JAW].astype(np.float64)
    per_unit = float((basis[14] - basis[13]) @ rig.axes[1])  # the lower lip's drop per unit
    if share > 0.0 and per_unit > 0.0:
        plan.fields["mouth"] = -share * gap * rig.face_height / per_unit * basis
    plan.close = True
    plan.action["mouth"] = RELAXED
    how = f"the jaw closing {share:.0%} of the gap" if plan.fields["mouth"].any() else "the lips moving alone"
    plan.reason["mouth"] = f"lips parted {gap:.3f} face heights: they meet, {how}"


def _plan_smile(plan: _Plan, rig: Rig) -> None:
    smile, lift = plan.found["smile"]["mouthSmile"], plan.found["smile"]["corner_lift"]
    if smile < _SMILE_FROM or lift <= LIFT_REST:
        plan.action["smile"] = UNCHANGED
        plan.reason["smile"] = f"corners about level (smile {smile:.2f}, lift {lift:.3f})"
        return
    if smile >= _SMILE_BROAD or lift >= _LIFT_BROAD:
        plan.action["smile"] = KEPT
        plan.reason["smile"] = (f"a broad smile ({smile:.2f}) stays in the picture: its raised cheeks "
                                "and folds are the photo's own, and lowering the corners alone "
                                "would make a grimace; motion lessens it from there")  # fmt: skip
        return
    both = rig.basis[index("mouthSmileLeft")] + rig.basis[index("mouthSmileRight")]
    corners = [fm.MOUTH_LEFT_CORNER, fm.MOUTH_RIGHT_CORNER]
    per_unit = -float(np.mean(both[corners].astype(np.float64) @ rig.axes[1]))  # corners' rise
    amount = (lift - LIFT_REST) * rig.face_height / max(per_unit, 1e-6)
    plan.fields["smile"] = -amount * both.astype(np.float64)
    plan.action["smile"] = RELAXED
    plan.reason["smile"] = f"smile {smile:.2f}: corners lowered {lift - LIFT_REST:.3f} face heights"


def _plan_brows(plan: _Plan, landmarks: np.ndarray, expression: np.ndarray, rig: Rig) -> None:
    found = plan.found["brows"]
    inner = float(expression[index("browInnerUp")])
    moves = {}
    for side in ("Right", "Left"):
        distance = found[f"brow_to_lid_{side.lower()}"]
        outer = float(expression[index(f"browOuterUp{side}")])
        down = float(expression[index(f"browDown{side}")])
        if (inner > _BROW_RAISED or outer > _BROW_OUTER_RAISED) and distance > _BROW_HIGH:
            moves[side] = _BROW_SHARE * (distance - _BROW_REST)  # down
        elif down > _BROW_LOWERED and distance < _BROW_LOW:
            moves[side] = -min(_BROW_RAISE, _BROW_REST - distance)  # up
    if not moves:
        plan.action["brows"], plan.reason["brows"] = UNCHANGED, "brows at rest above the lids"
        return
    plan.fields["brows"] = _brow_field(rig, landmarks, moves)
    what = ", ".join(f"{s.lower()} {'lowered' if m > 0 else 'raised'} {abs(m):.3f}" for s, m in moves.items())
    plan.action["brows"] = RELAXED
    plan.reason["brows"] = f"brows brought towards {_BROW_REST:.3f} face heights above the lids: {what}"


def _brow_field(rig: Rig, landmarks: np.ndarray, moves: dict[str, float]) -> np.ndarray:
    """(V, 2) px: each brow moved ``moves[side]`` face heights down (negative: up) with the skin
    between it and its upper lid taking the change evenly (the lid itself stays), the forehead
    above following less and less, and nothing beside the brow's ends nor at the face's outline
    (the hairline) and beyond it."""
    axes, fh = rig.axes.astype(np.float64), rig.face_height
    origin = landmarks[168, :2].astype(np.float64)
    q = lips.to_face(rig.vertices[:, :2].astype(np.float64), axes, origin, fh)
    marks = lips.to_face(landmarks[:, :2].astype(np.float64), axes, origin, fh)
    weight = np.zeros(len(q))
    amount = np.zeros(len(q))
    sides = {"Right": (fm.RIGHT_BROW, fm.RIGHT_EYE_UPPER), "Left": (fm.LEFT_BROW, fm.LEFT_EYE_UPPER)}
    for side, move in moves.items():
        brow_ids, lid_ids = sides[side]
        brow, lid = marks[list(brow_ids)], marks[list(lid_ids)]
        b, lo = np.argsort(brow[:, 0]), np.argsort(lid[:, 0])
        x, y = q[:, 0], q[:, 1]
        y_brow = np.interp(x, brow[b, 0], brow[b, 1])
        y_lid = np.interp(x, lid[lo, 0], lid[lo, 1])
        between = np.clip((y_lid - y) / np.maximum(y_lid - y_brow, 1e-3), 0.0, 1.0)
        forehead = 1.0 - _smooth((y_brow - y) / _FOREHEAD)
        outside = np.maximum(brow[:, 0].min() - x, x - brow[:, 0].max()) / _BROW_SIDE
        w = np.where(y < y_brow, forehead, between) * (1.0 - _smooth(outside))
        w[list(fm.FACE_OVAL)] = 0.0
        w[fm.NUM_LANDMARKS :] = 0.0
        take = w > weight  # between the brows the nearer brow leads
        weight = np.where(take, w, weight)
        amount = np.where(take, move, amount)
    return (weight * amount * fh)[:, None] * axes[1][None, :]


def _smooth(x: np.ndarray) -> np.ndarray:
    t = np.clip(x, 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def _plan_lids(plan: _Plan, hidden: bool) -> None:
    found = plan.found["lids"]
    if hidden:
        plan.action["lids"] = HIDDEN
        plan.reason["lids"] = ("eyes behind dark glasses: blinks and glances are not drawn (they "
                               "would paint lids on the lenses)")  # fmt: skip
        return
    openness = min(found["openness_right"], found["openness_left"])
    if openness < _NARROW or found["eyeBlink"] > _NARROW_BLINK:
        plan.action["lids"] = KEPT
        plan.reason["lids"] = (f"eyes narrowed (open {max(openness, 0.0):.2f} of their width): the "
                               "photo has no pixels of the iris to open them with")  # fmt: skip
        return
    plan.action["lids"], plan.reason["lids"] = UNCHANGED, f"eyes open ({openness:.2f} of their width)"


def _border(width: int, height: int, per_side: int = 6) -> np.ndarray:
    """(N, 2) points just outside the picture's edge: they never move."""
    xs = np.linspace(-1.0, float(width), per_side + 1)
    ys = np.linspace(-1.0, float(height), per_side + 1)[1:-1]
    return np.concatenate([np.stack([xs, np.full_like(xs, -1.0)], 1),
                           np.stack([xs, np.full_like(xs, float(height))], 1),
                           np.stack([np.full_like(ys, -1.0), ys], 1),
                           np.stack([np.full_like(ys, float(width)), ys], 1)])  # fmt: skip


def _warp(
    picture: np.ndarray, landmarks: np.ndarray, rig: Rig, plan: _Plan
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(relaxed picture, moved landmarks (478, 3), seam (11, 2) px): the plan carried out by
    the exact warp, each part scaled back until no triangle turns over (the lips' seam excepted:
    its folds are told in the mouth's reason)."""
    height, width = picture.shape[:2]
    axes, fh = rig.axes.astype(np.float64), rig.face_height
    vertices = rig.vertices[:, :2].astype(np.float64)
    source = vertices.copy()
    guards, guarded = np.zeros((0, 2)), np.zeros(0, np.int64)
    if plan.close:
        refined = lips.refine_opening(picture, landmarks, axes, fh)
        source[lips.UPPER], source[lips.LOWER], source[lips.UPPER_NEXT], source[lips.LOWER_NEXT] = refined
        guards, guarded = lips.corner_guards(source[lips.UPPER], source[lips.LOWER])
    # vertices off the picture (outer rings, the torso below it) are left out: the border
    # points hold the picture's edge
    on = (np.abs(vertices[:, 0] - width / 2) <= width / 2 + 1) & (
        np.abs(vertices[:, 1] - height / 2) <= height / 2 + 1)  # fmt: skip
    on[: fm.NUM_LANDMARKS] = True
    ids = np.flatnonzero(on)
    where = np.full(len(vertices), -1)
    where[ids] = np.arange(len(ids))
    border = _border(width, height)
    seams = [(where[lips.UPPER].tolist(), where[lips.LOWER].tolist())] if plan.close else []
    mesh = pw.triangulate(np.concatenate([source[ids], guards, border]), seams)
    # the triangles the brows move: the skin between brow and lid may shrink only so far
    by_brows = np.zeros(len(mesh.points), bool)
    by_brows[: len(ids)] = np.abs(plan.fields["brows"][ids]).sum(axis=1) > 0.05
    brow_moved = by_brows[mesh.triangles].any(axis=1)
    scales = {name: 1.0 for name in PARTS}
    folds = 0
    for _ in range(40):
        moved, seam = _targets(vertices, source, plan, scales, axes, fh)
        given = np.concatenate([moved[ids], guards + moved[guarded] - vertices[guarded], border])
        if plan.close:
            given[where[lips.UPPER]], given[where[lips.LOWER]] = seam, seam
        target = mesh.extend(given)
        bad = pw.folded(mesh, target) | (pw.folded(mesh, target, least=_LEAST_AREA) & brow_moved)
        if not bad.any():
            break
        corners = np.unique(mesh.triangles[bad])
        corners = ids[corners[corners < len(ids)]]
        guilty = [n for n in PARTS if scales[n] > 0.02 and np.abs(plan.fields[n][corners]).max() > 0.05]
        if not guilty:
            folds = int(bad.sum())  # only the seam folds: the lips still meet, creased there
            break
        for name in guilty:
            scales[name] *= _BACK_OFF
    for name, scale in scales.items():
        if scale < 1.0 and plan.action[name] == RELAXED:
            plan.action[name] = PARTLY
            plan.reason[name] += f"; only {scale:.0%} of that: more would fold the skin"
    if folds:
        plan.reason["mouth"] += f"; a little skin folds over where they meet ({folds} places)"
    marks = landmarks.copy()
    marks[:, :2] = moved[: fm.NUM_LANDMARKS]
    if plan.close:
        marks[lips.UPPER, :2], marks[lips.LOWER, :2] = seam, seam
    return pw.warp(picture, mesh, target), marks, seam


def _targets(
    vertices: np.ndarray,
    source: np.ndarray,
    plan: _Plan,
    scales: dict[str, float],
    axes: np.ndarray,
    fh: float,
) -> tuple[np.ndarray, np.ndarray]:
    """(moved vertices (V, 2), seam (11, 2)): each part's field at its scale, then the lips
    brought together (``source``: the vertices with the inner lips on their refined lines)."""
    shift = sum(scales[n] * plan.fields[n] for n in PARTS if n != "mouth")
    jaw = scales["mouth"] * plan.fields["mouth"]
    if not plan.close:
        return vertices + shift + jaw, np.zeros((len(lips.UPPER), 2))
    shift = shift + lips.limit_jaw(jaw, vertices, source[lips.UPPER], source[lips.LOWER], axes, fh, _JAW_SHARE)
    moved = vertices + shift
    upper = source[lips.UPPER] + shift[lips.UPPER]
    lower = source[lips.LOWER] + shift[lips.LOWER]
    closing, seam = lips.closing_field(moved, upper, lower, axes, fh)
    return moved + closing, seam
