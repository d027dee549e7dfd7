"""Weight averaging ("model soup") of trained checkpoints of one architecture.

    /usr/bin/python3 models/train/average_weights.py OUT.pt A.pt[:w] B.pt[:w] ...

Each input is a final.pt as the training scripts write it ({"model", "model_config", ...}); the
weights w (default equal) are normalised to sum to 1. Every floating-point tensor of the state dicts
is the weighted mean; integer buffers (e.g. BatchNorm's num_batches_tracked) come from the first
input. The inputs must share model_config and parameter names (an error says which differs). OUT
keeps the first input's model_config and records the sources, so evaluate.py --decoder,
export_finetuned.py and lmactd_export.py read it like any final.pt. Why: averaging a fine-tuned
decoder with the one it started from trades part of the new behaviour for the old one's
(the shipped LMAC-TD time decoder is ½ stage 2 + ½ stage 3 made this way).
"""
import os
import sys

import torch

from common import cli_help


def parse_input(arg: str):
    """("path", weight) from PATH or PATH:WEIGHT."""
    path, sep, w = arg.rpartition(":")
    if sep and os.path.exists(path):
        try:
            return path, float(w)
        except ValueError:
            pass
    return arg, 1.0


def average(inputs):
    """The weighted mean checkpoint of [(checkpoint dict, weight)]."""
    total = sum(w for _, w in inputs)
    if total <= 0:
        raise SystemExit("average_weights: the weights must sum to more than 0")
    first = inputs[0][0]
    for st, _ in inputs[1:]:
        if st["model_config"] != first["model_config"]:
            raise SystemExit(f"average_weights: model_config differs: {st['model_config']} vs {first['model_config']}")
        if st["model"].keys() != first["model"].keys():
            raise SystemExit("average_weights: the state dicts have different parameter names: "
                             f"{sorted(set(st['model']) ^ set(first['model']))[:5]}")
    out = {}
    for name, t in first["model"].items():
        if t.is_floating_point():
            out[name] = sum(st["model"][name].double() * (w / total) for st, w in inputs).to(t.dtype)
        else:
            out[name] = t.clone()
    return out


def main(argv):
    if len(argv) < 3:
        raise SystemExit("usage: average_weights.py OUT.pt A.pt[:w] B.pt[:w] ...  (see --help)")
    out_path, specs = argv[0], [parse_input(a) for a in argv[1:]]
    for path, _ in specs:
        if not os.path.exists(path):
            raise SystemExit(f"average_weights: no such checkpoint: {path}")
    inputs = [(torch.load(p), w) for p, w in specs]
    first = inputs[0][0]
    torch.save({"model": average(inputs), "model_config": first["model_config"], "wall": None,
                "config": {"source": "average_weights.py", "inputs": [[p, w] for p, w in specs]},
                "steps": None}, out_path)
    print("wrote", out_path, "from", ", ".join(f"{p} × {w}" for p, w in specs))


if __name__ == "__main__":
    cli_help(__doc__)
    main(sys.argv[1:])
