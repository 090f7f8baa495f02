"""``make train``: generate the synthetic corpus, train the world model on CPU, ship the weights.

    python -m avatars.train [--dialogues 100] [--steps 12000] [--max-minutes 30] [--corpus DIR] [--out DIR]

On this 2-core machine: the corpus (100 dialogues x 45 s, each from both sides, in
``corpus/train``) takes 10-40 min depending on load, its features (``audio.analyzer``: log-mel,
silero VAD, turn state; cached as ``features.npz`` in each corpus folder) 2-10 min, the optimisation at most ``--max-minutes``
(30), choosing the lip-closure threshold on the held-back dialogues about a minute, so
``make train`` stays well under 2 hours.

The lip-closure head trains with the network (weighted binary cross-entropy on the teacher's
sealed lips); its threshold is chosen on the validation split (``avatars.model.closure``) and
saved in config.json. Teacher forcing with noise on the previous frame plus scheduled sampling (the model's own samples
replace part of the previous frames once it has warmed up), so free-running stays stable.
For the held-out p/b/m gap (README, "Measured"): ``--lexicon-dialogues N`` (default 40; 0 for
your own footage alone) adds N dialogues whose text comes from a wide lexicon (``corpus/lexicon``),
``--warp`` (0.15) and ``--mask-bins`` (8) warp each crop's features to another vocal-tract length
and band-mask them (``avatars.model.augment``), ``--closure-dropout`` regularises the closure
head (off). Writes
config.json + model.safetensors + training_log.csv + training.json into the weights folder.
Train on your own footage with ``--corpus DIR --lexicon-dialogues 0`` pointing at folders written
by ``visavis capture``.
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import math
import sys
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from audio.tts import PhonemeSpan
from avatars.driver import drive_offline
from avatars.model.augment import VoiceAugment
from avatars.model.closure import ThresholdChoice, choose_threshold
from avatars.model.config import WorldModelConfig, articulation_channels
from avatars.model.data import Example, load_example
from avatars.model.features import SILENCE_LOG_MEL, lookahead_windows
from avatars.model.modeling import FrameInputs, WorldModel, gaussian_nll
from avatars.model.stream import WEIGHTS_DIR, WorldModelStream
from avatars.motion import BLENDSHAPE_SLICE, NUM_CHANNELS, index

log = logging.getLogger("avatars.train")
_MOUTH_WEIGHT = 3.0  # lip-sync is what viewers notice first
_CLOSURE_POSITIVE_WEIGHT = 4.0
_MOUTH = [index(n) for n in ("jawOpen", "mouthClose", "mouthFunnel", "mouthPucker", "mouthPressLeft",
                             "mouthPressRight", "mouthRollLower", "mouthLowerDownLeft",
                             "mouthLowerDownRight", "mouthStretchLeft", "mouthStretchRight")]  # fmt: skip


def statistics(examples: list[Example]) -> dict:
    motion = np.concatenate([e.target for e in examples])
    std = motion.std(axis=0)
    floor = np.full(NUM_CHANNELS, 0.1, np.float32)
    floor[BLENDSHAPE_SLICE] = 0.01
    mel = np.concatenate([e.self_mel.reshape(-1) for e in examples[:50]])
    return {
        "motion_mean": motion.mean(axis=0).round(5).tolist(),
        "motion_std": np.maximum(std, floor).round(5).tolist(),
        "mel_mean": round(float(mel.mean()), 4),
        "mel_std": round(float(mel.std()), 4),
    }


class Batcher:
    """Random crops of ``length`` frames, assembled into model inputs (normalised)."""

    def __init__(self, examples: list[Example], config: WorldModelConfig, length: int, seed: int,
                 augment: VoiceAugment | None = None):
        self.examples = [e for e in examples if e.motion.shape[0] > length + 1]
        self.config, self.length, self.augment = config, length, augment
        self.rng = np.random.default_rng(seed)
        self.mean = np.asarray(config.motion_mean, np.float32)
        self.std = np.asarray(config.motion_std, np.float32)
        silence = (SILENCE_LOG_MEL - config.mel_mean) / config.mel_std
        self.windows = [
            tuple(self._window(mel, silence) for mel in (e.self_mel, e.partner_mel))
            for e in self.examples
        ]

    def _window(self, mel: np.ndarray, silence: float) -> np.ndarray:
        normalised = (mel - self.config.mel_mean) / self.config.mel_std
        return lookahead_windows(normalised, self.config.lookahead_frames, silence)

    def batch(self, size: int) -> tuple[FrameInputs, torch.Tensor, torch.Tensor, torch.Tensor]:
        picks = self.rng.integers(0, len(self.examples), size=size)
        cols: dict[str, list[np.ndarray]] = {k: [] for k in (
            "self", "partner", "activity", "state", "prev", "style", "persona", "event", "target",
            "blink", "closed")}  # fmt: skip
        for i in picks:
            e, (own, other) = self.examples[i], self.windows[i]
            s = int(self.rng.integers(1, e.motion.shape[0] - self.length))
            sl = slice(s, s + self.length)
            if self.augment is not None:  # each speaker warped as another voice
                cols["self"].append(self.augment(own[sl], self.rng))
                cols["partner"].append(self.augment(other[sl], self.rng))
            else:
                cols["self"].append(own[sl])
                cols["partner"].append(other[sl])
            cols["activity"].append(e.activity[sl])
            cols["state"].append(e.state[sl])
            cols["prev"].append((e.motion[s - 1 : s - 1 + self.length] - self.mean) / self.std)
            cols["style"].append(e.style)
            cols["persona"].append(e.persona)
            cols["event"].append(e.event[sl])
            cols["target"].append((e.target[sl] - self.mean) / self.std)
            cols["blink"].append(e.blink_onset[sl])
            cols["closed"].append(e.lips_closed[sl])
        t = {k: torch.from_numpy(np.stack(v)) for k, v in cols.items()}
        prev = t["prev"] + torch.randn_like(t["prev"]) * torch.rand(size, 1, 1) * 0.3
        inputs = FrameInputs(
            self_mel=t["self"], partner_mel=t["partner"], activity=t["activity"], state=t["state"],
            prev_motion=prev, style=t["style"], persona=t["persona"], event=t["event"],
        )  # fmt: skip
        return inputs, t["target"], t["blink"], t["closed"]


def loss_of(model: WorldModel, inputs: FrameInputs, target: torch.Tensor, blink: torch.Tensor,
            closed: torch.Tensor) -> tuple[torch.Tensor, float, float, float]:
    out = model(inputs)
    nll = gaussian_nll(out, target)  # (B, T, C)
    weights = torch.ones(NUM_CHANNELS)
    weights[_MOUTH] = _MOUTH_WEIGHT
    # No extra weight on the mean's sealed frames: it pulled the jaw shut on every uncertain frame
    # (peak jaw 0.2 against 0.29, a clip's mouth barely opened); the closure head does the seals.
    nll_mean = (nll * weights).sum(-1).mean() / weights.sum()
    # Unweighted: the onset probability is sampled as is, so it must stay calibrated.
    bce = F.binary_cross_entropy_with_logits(out.blink_logit, blink)
    closure_bce = torch.zeros(())
    if out.closure_logit is not None:
        # Sealed lips are ~5 % of frames and last one to three: weigh them up so the head fires on
        # short closures instead of predicting "open" everywhere (the stream thresholds, not samples).
        weight = 1.0 + (_CLOSURE_POSITIVE_WEIGHT - 1.0) * closed
        closure_bce = F.binary_cross_entropy_with_logits(out.closure_logit, closed, weight=weight)
    return (nll_mean + bce + closure_bce, float(nll_mean.detach()), float(bce.detach()),
            float(closure_bce.detach()))  # fmt: skip


def scheduled_prev(model: WorldModel, inputs: FrameInputs, fraction: float) -> FrameInputs:
    """Replace ``fraction`` of previous frames by the model's own samples (one frame behind)."""
    with torch.no_grad():
        out = model(inputs)
        sample = out.mean + 0.6 * torch.exp(out.log_scale) * torch.randn_like(out.mean)
    own = torch.cat([inputs.prev_motion[:, :1], sample[:, :-1]], dim=1)
    own[..., list(_BLINK_COLUMNS)] = inputs.prev_motion[..., list(_BLINK_COLUMNS)]
    use = (torch.rand(own.shape[:2]) < fraction)[..., None]
    inputs.prev_motion = torch.where(use, own, inputs.prev_motion)
    return inputs


_BLINK_COLUMNS = (index("eyeBlinkLeft"), index("eyeBlinkRight"))


def validation_threshold(model: WorldModel, folders: list[Path], seed: int) -> ThresholdChoice:
    """The lip-closure threshold chosen on the held-back corpus dialogues, free-running."""
    from audio.wav import read_wav

    probabilities, phonemes = [], []
    stream = WorldModelStream(model=model, seed=seed, record_closure=True)
    for k, folder in enumerate(folders):
        meta = json.loads((folder / "meta.json").read_text()) if (folder / "meta.json").is_file() else {}
        partner = folder / "partner.wav"
        stream.reset(seed=seed + k)
        drive_offline(stream, read_wav(folder / "self.wav"),
                      read_wav(partner) if partner.is_file() else None)  # fmt: skip
        probabilities.append(np.asarray(stream.closure_probabilities, np.float32))
        phonemes.append([PhonemeSpan(p, float(a), float(b)) for p, a, b in meta.get("self_phonemes", [])])
    choice = choose_threshold(probabilities, phonemes)
    log.info("closure threshold=%.2f release=%.2f bilabial_sealed=%.3f vowel_frames_sealed=%.3f "
             "on folders=%d", choice.threshold, choice.release, choice.bilabial_sealed,
             choice.vowel_frames_sealed, len(folders))  # fmt: skip
    return choice


def _write_log(out: Path, rows: list[dict]) -> None:
    with open(out / "training_log.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def corpus_folders(corpus: Path, dialogues: int, args: argparse.Namespace, *, seed: int,
                   sentences: str) -> list[Path]:
    """The example folders of ``corpus``, generated when it holds fewer than ``2 * dialogues``;
    the lexicon corpus (``sentences="lexicon"``) gives its first ``2 * dialogues`` only."""
    folders = sorted(p.parent for p in corpus.glob("*/motion.csv"))
    if len(folders) < 2 * dialogues and not args.no_generate:
        from avatars.teacher.corpus import generate

        log.info("generating corpus dialogues=%d sentences=%s into=%s", dialogues, sentences, corpus)
        folders = generate(corpus, dialogues, seconds=args.seconds, seed=seed, sentences=sentences)
    if len(folders) < 2:
        raise ValueError(f"{corpus} holds {len(folders)} examples; need at least 2 corpus folders "
                         "(or --lexicon-dialogues 0 to train without the lexicon corpus)")  # fmt: skip
    return folders[: 2 * dialogues] if sentences == "lexicon" else folders


def split_folders(args: argparse.Namespace) -> tuple[list[Path], list[Path], int]:
    """(training folders, validation folders, number of lexicon folders), generating the corpora
    if short.
    Whole dialogues (both sides) stay on one side of the split; the lexicon corpus gives one too."""
    folders = corpus_folders(Path(args.corpus), args.dialogues, args, seed=args.seed, sentences="script")
    lexicon = (corpus_folders(Path(args.lexicon_corpus), args.lexicon_dialogues, args, seed=args.seed + 1,
                              sentences="lexicon") if args.lexicon_dialogues > 0 else [])  # fmt: skip
    n_val = 2 * max(1, len(folders) // 40)
    n_val_lexicon = 2 if len(lexicon) >= 4 else 0
    val_folders = folders[:n_val] + lexicon[:n_val_lexicon]
    return folders[n_val:] + lexicon[n_val_lexicon:], val_folders, len(lexicon)


def _closure_info(choice: ThresholdChoice, val_folders: list[Path]) -> dict:
    return asdict(choice) | {"validation_folders": [f"{f.parent.name}/{f.name}" for f in val_folders]}


def choose_closure_only(args: argparse.Namespace) -> Path:
    """Choose the lip-closure thresholds of trained weights again (``--closure-only``), on the
    validation split training would use, and save them with the weights; the network is as is."""
    if args.init_from is None:
        raise ValueError("--closure-only needs --init-from WEIGHTS (the folder to choose for)")
    torch.set_num_threads(args.threads)
    _, val_folders, _ = split_folders(args)
    model = WorldModel.from_pretrained(args.init_from)
    choice = validation_threshold(model, val_folders, args.seed)
    model.config.lip_closure_threshold = choice.threshold
    model.config.lip_release_threshold = choice.release
    out = Path(args.out)
    model.save_pretrained(out, safe_serialization=True)
    source = Path(args.init_from) / "training.json"
    info = json.loads(source.read_text()) if source.is_file() else {}
    info["lip_closure_threshold"] = _closure_info(choice, val_folders)
    info["closure_command"] = "python -m avatars.train " + " ".join(args.argv)
    (out / "training.json").write_text(json.dumps(info, indent=2))
    curves = Path(args.init_from) / "training_log.csv"  # the network's own, kept beside it
    if curves.is_file() and curves.resolve() != (out / curves.name).resolve():
        (out / curves.name).write_bytes(curves.read_bytes())
    log.info("saved closure thresholds weights=%s", out)
    return out


def train(args: argparse.Namespace) -> Path:
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    started = time.perf_counter()
    train_folders, val_folders, n_lexicon = split_folders(args)
    corpus_seconds = time.perf_counter() - started
    train_set = [load_example(f) for f in train_folders]
    val_set = [load_example(f) for f in val_folders]
    examples = train_set + val_set
    log.info("loaded examples=%d lexicon=%d seconds=%.0f", len(examples), n_lexicon,
             time.perf_counter() - started)  # fmt: skip
    if args.init_from is not None:
        # Fine-tune (e.g. on captured footage): keep the given normalisation and weights.
        config = WorldModelConfig.from_pretrained(args.init_from)
        model = WorldModel.from_pretrained(args.init_from, config=config)
        log.info("fine-tuning from weights=%s", args.init_from)
    else:
        config = WorldModelConfig(**statistics(train_set), prev_masked_channels=articulation_channels(),
                                  lip_closure_head=True, closure_context=args.closure_context,
                                  closure_dropout=args.closure_dropout)  # fmt: skip
        model = WorldModel(config)
    # Scheduled sampling starts after warm-up; a fine-tuned model is warm already.
    sampling_from = 0.0 if args.init_from is not None else 0.25
    augment = VoiceAugment(warp=args.warp, mask_bins=args.mask_bins) if args.warp or args.mask_bins else None
    batches = Batcher(train_set, config, args.length, args.seed, augment)
    val_batches = Batcher(val_set, config, args.length, args.seed + 1)
    val_fixed = [val_batches.batch(args.batch) for _ in range(4)]
    optim = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=args.lr,
                              weight_decay=0.01)  # fmt: skip
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows: list[dict] = []
    train_started = time.perf_counter()
    step = 0
    progress = 0.0
    while progress < 1.0:
        step += 1
        # Progress by steps or by the wall-clock budget, whichever is further: on a busy machine
        # training ends on time with a fully decayed learning rate instead of running over.
        budget = (time.perf_counter() - train_started) / (60 * args.max_minutes)
        progress = min(1.0, max(step / args.steps, budget))
        lr = args.lr * 0.5 * (1 + math.cos(math.pi * progress)) * min(1.0, step / 100)
        for group in optim.param_groups:
            group["lr"] = lr
        inputs, target, blink, closed = batches.batch(args.batch)
        if progress > sampling_from:
            ramp = 1.0 if sampling_from == 0.0 else min(1.0, (progress - sampling_from) / 0.35)
            inputs = scheduled_prev(model, inputs, 0.5 * ramp)
        model.train()
        loss, nll, bce, closure_bce = loss_of(model, inputs, target, blink, closed)
        optim.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optim.step()
        if step % args.log_every == 0 or progress >= 1.0:
            model.eval()
            with torch.no_grad():
                val = np.array([loss_of(model, *b)[1:] for b in val_fixed]).mean(axis=0)
            row = {"step": step, "seconds": round(time.perf_counter() - started, 1), "lr": round(lr, 6),
                   "train_nll": round(nll, 4), "train_blink_bce": round(bce, 4),
                   "train_closure_bce": round(closure_bce, 4), "val_nll": round(float(val[0]), 4),
                   "val_closure_bce": round(float(val[2]), 4)}  # fmt: skip
            rows.append(row)
            log.info("train %s", " ".join(f"{k}={v}" for k, v in row.items()))
            model.save_pretrained(out, safe_serialization=True)  # a usable checkpoint at every log
            _write_log(out, rows)
    model.eval()
    choice = validation_threshold(model, val_folders, args.seed)
    model.config.lip_closure_threshold = choice.threshold
    model.config.lip_release_threshold = choice.release
    model.save_pretrained(out, safe_serialization=True)
    _write_log(out, rows)
    info = {
        "command": "python -m avatars.train " + " ".join(args.argv),
        "examples": len(examples), "lexicon_examples": n_lexicon, "train_frames": int(sum(e.motion.shape[0] for e in train_set)),
        "corpus_seconds": round(corpus_seconds, 1), "total_seconds": round(time.perf_counter() - started, 1),
        "steps": step, "batch": args.batch, "length": args.length, "threads": args.threads,
        "parameters": model.num_parameters(), "source": "synthetic teacher (avatars.teacher)",
        "front_end": config.front_end, "vad": config.vad, "warp": args.warp, "mask_bins": args.mask_bins,
        "closure_dropout": args.closure_dropout,
        "lip_closure_threshold": _closure_info(choice, val_folders),
    }  # fmt: skip
    (out / "training.json").write_text(json.dumps(info, indent=2))
    log.info("saved weights=%s seconds=%.0f", out, info["total_seconds"])
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", default="corpus/train", help="corpus folder (generated if short)")
    parser.add_argument("--no-generate", action="store_true", help="train on --corpus as it is")
    parser.add_argument("--dialogues", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=45.0, help="length of each dialogue")
    parser.add_argument("--lexicon-corpus", default="corpus/lexicon",
                        help="second corpus whose text comes from a wide lexicon (generated if short)")
    parser.add_argument("--lexicon-dialogues", type=int, default=40,
                        help="dialogues of the lexicon corpus to train on (0: none)")
    parser.add_argument("--steps", type=int, default=12000, help="at most this many steps")
    parser.add_argument("--max-minutes", type=float, default=30.0,
                        help="wall-clock budget for the optimisation (corpus excluded)")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--length", type=int, default=96, help="frames per training crop")
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--log-every", type=int, default=50)
    parser.add_argument("--out", default=str(WEIGHTS_DIR))
    parser.add_argument("--init-from", type=Path, default=None,
                        help="fine-tune these weights (a folder with config.json) instead of starting fresh")
    parser.add_argument("--closure-only", action="store_true",
                        help="only choose the lip-closure thresholds of --init-from again, on the "
                             "validation split, and save them to --out")
    parser.add_argument("--closure-context", type=int, default=6,
                        help="frames of the avatar's own audio the lip-closure head convolves")
    parser.add_argument("--closure-dropout", type=float, default=0.0,
                        help="dropout on the lip-closure head's inputs in training")
    parser.add_argument("--warp", type=float, default=0.15,
                        help="vocal-tract-length warp of training features: factors in [1-w, 1+w] (0: off)")
    parser.add_argument("--mask-bins", type=int, default=8,
                        help="widest mel band masked in training features (0: off)")
    args = parser.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)  # recorded with the weights
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    choose_closure_only(args) if args.closure_only else train(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
