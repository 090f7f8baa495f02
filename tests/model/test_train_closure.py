"""``python -m avatars.train --closure-only``: thresholds chosen again, the network left as is."""

from __future__ import annotations

import json

import torch

from avatars import train
from avatars.model import WorldModel, WorldModelConfig


def test_closure_only_chooses_both_thresholds_and_keeps_the_network(tmp_path) -> None:
    weights, out, corpus = tmp_path / "weights", tmp_path / "out", tmp_path / "corpus"
    torch.manual_seed(0)
    model = WorldModel(WorldModelConfig(d_model=32, n_layers=1, n_heads=2, window=8,
                                        lip_closure_head=True))  # fmt: skip
    model.save_pretrained(weights, safe_serialization=True)
    (weights / "training.json").write_text(json.dumps({"steps": 7}))
    train.main(["--closure-only", "--init-from", str(weights), "--out", str(out), "--corpus",
                str(corpus), "--dialogues", "1", "--seconds", "6", "--lexicon-dialogues", "0"])  # fmt: skip
    chosen = WorldModel.from_pretrained(out)
    assert 0 < chosen.config.lip_release <= chosen.config.lip_closure_threshold < 1
    for name, tensor in model.state_dict().items():
        assert torch.equal(tensor, chosen.state_dict()[name]), name
    info = json.loads((out / "training.json").read_text())
    assert info["steps"] == 7  # the training record is kept, the choice replaced
    assert info["lip_closure_threshold"]["release"] == chosen.config.lip_release
    assert info["lip_closure_threshold"]["validation_folders"] == ["corpus/dialogue0000_a",
                                                                   "corpus/dialogue0000_b"]  # fmt: skip
    assert "--closure-only" in info["closure_command"]
