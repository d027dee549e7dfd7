"""Export the trained classifier and its stage-1 decoder to an lmac-bundle/1 folder.

    /usr/bin/python3 models/train/export.py [--out models/esc50] [--allow-untrained-decoder]

Since session 24 the shipped models/esc50 carries the fine-tuned decoder (export_finetuned.py
after this script) and the stage-1 decoder lives in models/esc50-stage1, written by
`export.py --out models/esc50-stage1 --fixture models/fixtures/esc50-stage1-parity`
(the manifest's name is the folder's name).

Checks ONNX (onnxruntime-node) against PyTorch (max abs diff <= 1e-4), writes the manifest with
sha256s and the parity fixture models/fixtures/esc50-parity.{json,bin} used by `npm test`.
"""
import argparse
import hashlib
import json
import os
import subprocess
import tempfile

import numpy as np
import torch

from common import load_trained, stage_weights, write_fixture
from frontend import FE, magnitude
from model import Classifier, ClassifierConfig, DecoderConfig, MaskDecoder, count_params

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
HIDDEN = ["h1", "h2", "h3", "h4"]
OPSET = 17


def load_models(allow_untrained_decoder: bool):
    cls_path = stage_weights("classifier")
    classifier, _ = load_trained(cls_path, Classifier, ClassifierConfig)
    dec_path = stage_weights("decoder")
    decoder = MaskDecoder(DecoderConfig())
    if os.path.exists(dec_path):
        decoder, _ = load_trained(dec_path, MaskDecoder, DecoderConfig)
    elif not allow_untrained_decoder:
        raise SystemExit("no decoder checkpoint in runs/decoder (use --allow-untrained-decoder for a provisional bundle)")
    else:
        dec_path = None
    return classifier.eval(), decoder.eval(), cls_path, dec_path


def test_signal(seed: int = 7) -> np.ndarray:
    """A deterministic 5 s test signal: a chirp, a harmonic tone with vibrato, noise bursts, clicks."""
    rng = np.random.default_rng(seed)
    t = np.arange(FE.window_samples) / FE.sample_rate
    chirp = 0.3 * np.sin(2 * np.pi * (200 * t + 0.5 * 600 * t ** 2))
    f0 = 440 + 20 * np.sin(2 * np.pi * 5 * t)
    phase = 2 * np.pi * np.cumsum(f0) / FE.sample_rate
    tone = sum(0.15 / k * np.sin(k * phase) for k in range(1, 6)) * (t > 1.5) * (t < 3.5)
    bursts = 0.2 * rng.standard_normal(len(t)) * (((t % 1.0) > 0.8))
    clicks = np.zeros_like(t)
    clicks[(np.arange(10) * 7919) % len(t)] = 0.9
    return (chirp + tone + bursts + clicks).astype(np.float32)


class ClassifierOnnx(torch.nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c

    def forward(self, magnitude):
        logits, hidden = self.c(magnitude)
        return (logits, *hidden)


def export_onnx(classifier, decoder, out_dir):
    mag = torch.rand(2, FE.freq_bins, FE.frames)
    cls_file = os.path.join(out_dir, "classifier.onnx")
    torch.onnx.export(ClassifierOnnx(classifier).eval(), (mag,), cls_file, opset_version=OPSET,
                      input_names=["magnitude"], output_names=["logits"] + HIDDEN,
                      dynamic_axes={"magnitude": {0: "batch"}, "logits": {0: "batch"},
                                    **{h: {0: "batch"} for h in HIDDEN}})
    classifier.eval()  # export restores the wrapper's mode recursively: keep BN in eval
    with torch.no_grad():
        _, hidden = classifier(mag)
    target = torch.tensor([0, 1], dtype=torch.int64)
    dec_file = os.path.join(out_dir, "decoder.onnx")
    torch.onnx.export(decoder, (*hidden, target), dec_file, opset_version=OPSET,
                      input_names=HIDDEN + ["target"], output_names=["mask"],
                      dynamic_axes={**{h: {0: "batch"} for h in HIDDEN}, "target": {0: "batch"},
                                    "mask": {0: "batch"}})
    decoder.eval()
    return cls_file, dec_file


def run_onnx(model_file, inputs):
    """inputs: list of (name, np.ndarray) -> dict name -> np.ndarray via onnxruntime-node."""
    with tempfile.TemporaryDirectory() as tmp:
        parts, specs, off = [], [], 0
        for name, arr in inputs:
            b = np.ascontiguousarray(arr).tobytes()
            specs.append({"name": name, "dtype": "int64" if arr.dtype == np.int64 else "float32",
                          "shape": list(arr.shape), "offset": off})
            parts.append(b); off += len(b)
        with open(os.path.join(tmp, "in.bin"), "wb") as fh:
            fh.write(b"".join(parts))
        spec = {"inputs": specs, "bin": os.path.join(tmp, "in.bin"), "out": os.path.join(tmp, "out")}
        with open(os.path.join(tmp, "spec.json"), "w") as fh:
            json.dump(spec, fh)
        subprocess.run(["node", os.path.join(os.path.dirname(__file__), "onnx_run.mjs"),
                        model_file, os.path.join(tmp, "spec.json")], check=True, cwd=ROOT)
        meta = json.load(open(spec["out"] + ".json"))
        raw = open(spec["out"] + ".bin", "rb").read()
        return {m["name"]: np.frombuffer(raw, dtype=np.float32, count=int(np.prod(m["shape"])),
                                         offset=m["offset"]).reshape(m["shape"]) for m in meta}


def sha256(path):
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(ROOT, "models", "esc50"))
    ap.add_argument("--fixture", default=os.path.join(ROOT, "models", "fixtures", "esc50-parity"))
    ap.add_argument("--allow-untrained-decoder", action="store_true")
    args = ap.parse_args()
    torch.manual_seed(0)
    os.makedirs(args.out, exist_ok=True)
    os.makedirs(os.path.dirname(args.fixture), exist_ok=True)
    classifier, decoder, cls_path, dec_path = load_models(args.allow_untrained_decoder)
    cls_file, dec_file = export_onnx(classifier, decoder, args.out)

    # parity on the generated test signal plus a random batch (dynamic batch = 3)
    sig = torch.from_numpy(test_signal())
    rnd = torch.from_numpy(np.random.default_rng(1).standard_normal((2, FE.window_samples)).astype(np.float32) * 0.1)
    mag = magnitude(torch.cat([sig[None], rnd]))
    with torch.no_grad():
        logits, hidden = classifier(mag)
        target = torch.cat([logits[:1].argmax(1), torch.tensor([3, 17])])
        mask = decoder(*hidden, target)
    o_cls = run_onnx(cls_file, [("magnitude", mag.numpy())])
    o_dec = run_onnx(dec_file, [(h, t.numpy()) for h, t in zip(HIDDEN, hidden)] + [("target", target.numpy())])
    diffs = {"logits": float(np.abs(o_cls["logits"] - logits.numpy()).max()),
             "mask": float(np.abs(o_dec["mask"] - mask.numpy()).max())}
    for h, t in zip(HIDDEN, hidden):
        diffs[h] = float(np.abs(o_cls[h] - t.numpy()).max())
    print("ONNX vs PyTorch max abs diff:", json.dumps(diffs))
    bad = {k: v for k, v in diffs.items() if v > 1e-4}
    if bad:
        raise SystemExit(f"ONNX parity failed (> 1e-4): {bad}")

    # fixture: the generated signal, its magnitude, logits, target and mask (float32 little-endian)
    arrays = [("signal", sig.numpy()), ("magnitude", mag[0].numpy()), ("logits", logits[0].numpy()),
              ("mask", mask[0].numpy())]
    write_fixture(args.fixture, arrays, {"description": "PyTorch reference for models/esc50 on a generated test signal "
                                                        "(models/train/export.py test_signal); float32 little-endian arrays in the .bin",
                                         "bundle": os.path.relpath(args.out, ROOT), "target": int(target[0])})

    labels = json.load(open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "labels.json")))
    prev = {}
    prev_td = None  # the LMAC-TD block (lmactd_export.py writes it) is kept
    mpath = os.path.join(args.out, "manifest.json")
    if os.path.exists(mpath):
        old = json.load(open(mpath))
        prev = old.get("results", {})
        prev_td = old.get("timeDecoder")
    manifest = {
        "format": "lmac-bundle/1",
        "name": os.path.basename(os.path.normpath(args.out)),
        "description": "ESC-50 environmental sound classifier (compact CNN, log-mel inside the graph) "
                       "with a class-conditioned L-MAC mask decoder, trained from scratch on folds 1-3.",
        "license": "Weights trained on ESC-50 (CC BY-NC 3.0, Karol J. Piczak): non-commercial use only.",
        **FE.manifest_fields(),
        "labels": labels,
        "classifier": {"file": "classifier.onnx", "sha256": sha256(cls_file), "input": "magnitude",
                       "logits": "logits", "hidden": HIDDEN, "parameters": count_params(classifier)},
        "decoder": {"file": "decoder.onnx", "sha256": sha256(dec_file), "hidden": HIDDEN,
                    "target": "target", "mask": "mask", "parameters": count_params(decoder),
                    "trained": dec_path is not None},
        **({"timeDecoder": prev_td} if prev_td else {}),
        "opset": OPSET,
        "results": prev,
    }
    json.dump(manifest, open(mpath, "w"), indent=1)
    print(f"wrote {args.out} (classifier {os.path.getsize(cls_file)} B, decoder {os.path.getsize(dec_file)} B)")


if __name__ == "__main__":
    main()
