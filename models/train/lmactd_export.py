"""Export the LMAC-TD time decoder to ONNX (the optional `timeDecoder` part of an lmac-bundle/1),
check it against PyTorch with onnxruntime-node and write the parity fixture.

    /usr/bin/python3 models/train/lmactd_export.py [--weights runs/lmactd/final.pt] \
        [--out models/esc50/time_decoder.onnx] [--fixture models/fixtures/lmactd-parity]

Graph: inputs waveform [B, 80000] float32, h3 [B, 96, 8, 39] and h4 [B, 192, 4, 19] (the
classifier's hidden outputs on |STFT(waveform)|), target [B] int64; output explanation [B, 80000].
The residual is waveform − explanation (computed by the caller, so they sum to the input exactly).
The fixture (float32 little-endian .bin + .json layout) holds the generated test signal of
export.py, torch's h3/h4 on it, and the explanations for the classifier's top class and for its
least likely class (its energy ratio only).
"""
import argparse
import hashlib
import json
import os

import numpy as np
import torch

from common import RUNS, write_fixture
from export import OPSET, ROOT, run_onnx, test_signal
from frontend import FE, magnitude
from lmactd_model import TimeDecoder, TimeDecoderConfig, count_params
from train_decoder import load_classifier

INPUTS = ["waveform", "h3", "h4", "target"]


def load_time_decoder(path=None):
    if path == "random":  # smoke tests of the export path without a trained model
        m = TimeDecoder(TimeDecoderConfig()).eval()
        m.attach_head(load_classifier())
        return m, {}, "random"
    path = path or os.path.join(RUNS, "lmactd", "final.pt")
    if not os.path.exists(path):
        path = os.path.join(RUNS, "lmactd", "ckpt.pt")
    st = torch.load(path)
    m = TimeDecoder(TimeDecoderConfig(**st["model_config"]))
    m.load_state_dict(st["model"])
    m.eval()
    for p in m.parameters():
        p.requires_grad_(False)
    return m, st, path


def export(model, out):
    x = torch.randn(2, FE.window_samples) * 0.1
    c = load_classifier()
    with torch.no_grad():
        _, h = c(magnitude(x))
    target = torch.tensor([0, 1], dtype=torch.int64)
    torch.onnx.export(model, (x, h[2], h[3], target), out, opset_version=OPSET, input_names=INPUTS,
                      output_names=["explanation"],
                      dynamic_axes={k: {0: "batch"} for k in INPUTS + ["explanation"]})
    model.eval()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--weights", default=None)
    ap.add_argument("--out", default=os.path.join(ROOT, "models", "esc50", "time_decoder.onnx"))
    ap.add_argument("--fixture", default=os.path.join(ROOT, "models", "fixtures", "lmactd-parity"))
    ap.add_argument("--manifest", default=None,
                    help="bundle manifest.json to get the timeDecoder block (default: the one beside --out, if any; 'none' to skip)")
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    model, st, wpath = load_time_decoder(args.weights)
    c = load_classifier()
    export(model, args.out)

    sig = torch.from_numpy(test_signal())
    rnd = torch.from_numpy(np.random.default_rng(1).standard_normal((2, FE.window_samples)).astype(np.float32) * 0.1)
    x = torch.cat([sig[None], rnd])
    with torch.no_grad():
        logits, h = c(magnitude(x))
        top, low = logits[0].argmax().item(), logits[0].argmin().item()
        target = torch.tensor([top, 3, 17])
        expl = model(x, h[2], h[3], target)
        expl_low = model(x[:1], h[2][:1], h[3][:1], torch.tensor([low]))
    o = run_onnx(args.out, [("waveform", x.numpy()), ("h3", h[2].numpy()), ("h4", h[3].numpy()),
                            ("target", target.numpy())])["explanation"]
    diff = float(np.abs(o - expl.numpy()).max())
    print(json.dumps({"onnxVsTorchMaxAbs": diff, "peak": float(expl.abs().max())}))
    if diff > 1e-4:
        raise SystemExit(f"ONNX parity failed: {diff}")
    er = lambda e, s: float(e.pow(2).sum() / s.pow(2).sum())
    write_fixture(args.fixture,
                  [("signal", sig.numpy()), ("h3", h[2][0].numpy()), ("h4", h[3][0].numpy()),
                   ("explanation", expl[0].numpy())],
                  {"description": "PyTorch reference for the LMAC-TD time decoder (models/train/lmactd_export.py) "
                                  "on export.py's generated test signal; float32 little-endian arrays in the .bin",
                   "model": os.path.relpath(args.out, ROOT), "target": top, "targetUnlikely": low,
                   "energyRatio": er(expl[0], sig), "energyRatioUnlikely": er(expl_low[0], sig),
                   "onnxVsTorchMaxAbs": diff})
    info = {"file": os.path.relpath(args.out, ROOT), "bytes": os.path.getsize(args.out),
            "sha256": hashlib.sha256(open(args.out, "rb").read()).hexdigest(),
            "parameters": count_params(model), "weights": wpath if wpath == "random" else os.path.relpath(wpath, ROOT),
            "trainWallS": st.get("wall"), "steps": st.get("steps", st.get("step"))}
    print(json.dumps(info))
    mpath = args.manifest or os.path.join(os.path.dirname(os.path.abspath(args.out)), "manifest.json")
    if mpath != "none" and os.path.exists(mpath):
        write_manifest_block(mpath, os.path.relpath(args.out, os.path.dirname(os.path.abspath(mpath))), info["sha256"],
                             count_params(model), wpath != "random")
        print(f"wrote the timeDecoder block of {mpath}")


def write_manifest_block(mpath, rel, sha, params, trained):
    """Set the bundle manifest's `timeDecoder` block (docs/DESIGN.md), placed after `decoder`; the rest is kept."""
    man = json.load(open(mpath))
    block = {"file": rel, "sha256": sha, "waveform": INPUTS[0], "hidden": INPUTS[1:3], "target": INPUTS[3],
             "explanation": "explanation", "parameters": params, "trained": trained}
    out = {}
    for k, v in man.items():
        if k != "timeDecoder":
            out[k] = v
        if k == "decoder":
            out["timeDecoder"] = block
    out.setdefault("timeDecoder", block)
    with open(mpath, "w") as f:
        json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
