"""Export the latent explainer bundle models/esc50-latent/ (lmac-bundle/1 plus a "latent" block).

    /usr/bin/python3 models/train/latent_export.py [--out models/esc50-latent]

Reads runs/latent-ae and runs/latent-clf. Writes encoder.onnx (magnitude -> z), decoder.onnx
(z -> magnitude), latent_classifier.onnx (z -> logits), classifier_grad.onnx (z, target one-hot ->
logits, grad = d log softmax_target / dz: the backward written out in latent_model.ZClassifierGrad,
checked here against torch.autograd), classifier.onnx (magnitude -> logits: encoder + latent
classifier, the plain bundle contract), the manifest, the parity fixture
models/fixtures/latent-parity.{json,bin} and a test-made copy of the latent classifier that reads
one channel only (models/fixtures/latent-onechannel/) for the attribution test.
Every ONNX graph is checked against PyTorch with onnxruntime-node (max abs diff <= 1e-4).
"""
import argparse
import json
import os
from dataclasses import asdict

import numpy as np
import torch
import torch.nn as nn

from common import cli_help, load_trained, stage_weights, write_fixture
from export import OPSET, ROOT, run_onnx, sha256, test_signal
from frontend import FE, stft
from latent_explain import apply_keep, grad_x_input, occlusion, resynth, top_beta
from latent_model import (AEConfig, Decoder, Encoder, LatentAE, ZClassifier, ZClassifierConfig,
                          ZClassifierGrad, count_params)

GROUPS = 8
ONE_CHANNEL = 5  # the channel the test-made classifier copy reads


class Composed(nn.Module):
    def __init__(self, ae, clf):
        super().__init__()
        self.ae, self.clf = ae, clf

    def forward(self, magnitude):
        return self.clf(self.ae.encode(magnitude))


def load_models(ae_stage="latent-ae", clf_stage="latent-clf"):
    ae, _ = load_trained(stage_weights(ae_stage), LatentAE, AEConfig, frozen=True)
    st = torch.load(stage_weights(clf_stage))
    clf = ZClassifier(ZClassifierConfig(**st["model_config"]))
    clf.load_state_dict(st["model"]); clf.eval()
    for p in clf.parameters():
        p.requires_grad_(False)
    return ae, clf, st


def check_grad(clf, z, target):
    """Max abs difference of ZClassifierGrad against torch.autograd (float64 and float32)."""
    out = {}
    for dt in (torch.float64, torch.float32):
        c = ZClassifier(clf.cfg).to(dt); c.load_state_dict(clf.state_dict()); c.eval()
        zz = z.to(dt).clone().requires_grad_(True)
        onehot = torch.nn.functional.one_hot(target, clf.cfg.n_classes).to(dt)
        lp = torch.log_softmax(c(zz), -1)
        (g_ref,) = torch.autograd.grad((lp * onehot).sum(), zz)
        with torch.no_grad():
            _, g = ZClassifierGrad(c)(zz.detach(), onehot)
        out[str(dt).split(".")[-1]] = float((g - g_ref).abs().max() / g_ref.abs().max())
    return out


def export(model, args, path, names_in, names_out, dynamic):
    torch.onnx.export(model.eval(), args, path, opset_version=OPSET, input_names=names_in,
                      output_names=names_out, dynamic_axes=dynamic)


def main():
    cli_help(__doc__)
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(ROOT, "models", "esc50-latent"))
    ap.add_argument("--fixture", default=os.path.join(ROOT, "models", "fixtures", "latent-parity"))
    ap.add_argument("--ae-stage", default="latent-ae")
    ap.add_argument("--clf-stage", default="latent-clf")
    args = ap.parse_args()
    torch.manual_seed(0)
    os.makedirs(args.out, exist_ok=True)
    ae, clf, st = load_models(args.ae_stage, args.clf_stage)
    base = st["baselines"]
    T = FE.frames

    sig = torch.from_numpy(test_signal())
    rnd = torch.from_numpy(np.random.default_rng(1).standard_normal((2, FE.window_samples)).astype(np.float32) * 0.1)
    waves = torch.cat([sig[None], rnd])
    spec = stft(waves)
    mag = spec.abs()
    with torch.no_grad():
        z = ae.encode(mag)
        mag_hat = ae.decode(z)
        logits = clf(z)
    target = torch.cat([logits[:1].argmax(1), torch.tensor([3, 17])])
    onehot = torch.nn.functional.one_hot(target, 50).float()

    gerr = check_grad(clf, z, target)
    print("hand-written backward vs autograd (max abs diff / max |grad|):", gerr)
    if gerr["float64"] > 1e-10 or gerr["float32"] > 1e-5:
        raise SystemExit(f"ZClassifierGrad disagrees with autograd: {gerr}")

    files = {k: os.path.join(args.out, f) for k, f in [("encoder", "encoder.onnx"), ("decoder", "decoder.onnx"),
             ("zclf", "latent_classifier.onnx"), ("grad", "classifier_grad.onnx"), ("classifier", "classifier.onnx")]}
    b = {0: "batch"}
    bt = {0: "batch", 2: "frames"}
    export(Encoder(ae), (mag,), files["encoder"], ["magnitude"], ["z"], {"magnitude": bt, "z": bt})
    export(Decoder(ae), (z,), files["decoder"], ["z"], ["magnitude"], {"z": bt, "magnitude": bt})
    export(clf, (z,), files["zclf"], ["z"], ["logits"], {"z": bt, "logits": b})
    gm = ZClassifierGrad(clf)
    export(gm, (z, onehot), files["grad"], ["z", "target"], ["logits", "grad"],
           {"z": b, "target": b, "logits": b, "grad": b})
    export(Composed(ae, clf), (mag,), files["classifier"], ["magnitude"], ["logits"], {"magnitude": b, "logits": b})
    with torch.no_grad():
        _, grad = gm(z, onehot)

    o = {"encoder": run_onnx(files["encoder"], [("magnitude", mag.numpy())])["z"],
         "decoder": run_onnx(files["decoder"], [("z", z.numpy())])["magnitude"],
         "zclf": run_onnx(files["zclf"], [("z", z.numpy())])["logits"],
         "classifier": run_onnx(files["classifier"], [("magnitude", mag.numpy())])["logits"]}
    og = run_onnx(files["grad"], [("z", z.numpy()), ("target", onehot.numpy())])
    # a shorter window through the dynamic-frames graphs
    o_short = run_onnx(files["encoder"], [("magnitude", mag[:1, :, :100].numpy())])["z"]
    with torch.no_grad():
        z_short = ae.encode(mag[:1, :, :100])
    diffs = {"encoder": np.abs(o["encoder"] - z.numpy()).max(), "decoder": np.abs(o["decoder"] - mag_hat.numpy()).max(),
             "latent_classifier": np.abs(o["zclf"] - logits.numpy()).max(),
             "classifier": np.abs(o["classifier"] - logits.numpy()).max(),
             "grad_logits": np.abs(og["logits"] - logits.numpy()).max(),
             "grad": np.abs(og["grad"] - grad.numpy()).max() / np.abs(grad.numpy()).max(),
             "encoder_100_frames": np.abs(o_short - z_short.numpy()).max()}
    # the decoder's magnitudes reach ~1e2: compare relative to the largest
    diffs["decoder"] /= float(mag_hat.abs().max())
    diffs = {k: float(v) for k, v in diffs.items()}
    print("ONNX vs PyTorch max abs diff:", json.dumps(diffs))
    bad = {k: v for k, v in diffs.items() if v > 1e-4}
    if bad:
        raise SystemExit(f"ONNX parity failed (> 1e-4): {bad}")

    # the Python reference of the explainer on the test signal (latent_explain, as latent.ts)
    bsil = base["silence"]
    z0, t0 = z[:1], target[:1]
    s_grad = grad_x_input(gm, z0, bsil, t0, GROUPS)
    s_occ = occlusion(clf, z0, bsil, t0, GROUPS)
    keep = top_beta(s_grad, 0.1)
    zk, zr = apply_keep(z0, bsil, keep)
    x_keep = resynth(ae, zk, spec[:1], FE.window_samples)
    with torch.no_grad():
        mag_keep = ae.decode(zk)
    x_rem = resynth(ae, zr, spec[:1], FE.window_samples)
    x_rec = resynth(ae, z0, spec[:1], FE.window_samples)
    os.makedirs(os.path.dirname(args.fixture), exist_ok=True)
    write_fixture(args.fixture, [
        ("signal", sig.numpy()), ("z", z[0].numpy()), ("magnitudeHat", mag_hat[0].numpy()),
        ("logits", logits[0].numpy()), ("grad", grad[0].numpy()), ("scoresGrad", s_grad[0].numpy()),
        ("scoresOcclusion", s_occ[0].numpy()), ("keep", keep[0].numpy()), ("magnitudeKeep", mag_keep[0].numpy()), ("explanation", x_keep[0].numpy()),
        ("removed", x_rem[0].numpy()), ("reconstruction", x_rec[0].numpy()),
        ("specRe", spec[0].real.numpy()), ("specIm", spec[0].imag.numpy())],
        {"description": "PyTorch reference for models/esc50-latent on models/train/export.py test_signal "
                        "(models/train/latent_export.py; latent_explain.py is the reference explainer)",
         "bundle": os.path.relpath(args.out, ROOT), "target": int(target[0]), "beta": 0.1, "groups": GROUPS,
         "baseline": "silence"})

    # test-made copy: the first conv reads channel ONE_CHANNEL only (all other input weights zero)
    one = ZClassifier(clf.cfg); one.load_state_dict(clf.state_dict()); one.eval()
    with torch.no_grad():
        w = one.convs[0].weight
        keep_w = w[:, ONE_CHANNEL].clone(); w.zero_(); w[:, ONE_CHANNEL] = keep_w
    one_dir = os.path.join(os.path.dirname(args.fixture), "latent-onechannel")
    os.makedirs(one_dir, exist_ok=True)
    export(one, (z,), os.path.join(one_dir, "latent_classifier.onnx"), ["z"], ["logits"], {"z": bt, "logits": b})
    export(ZClassifierGrad(one), (z, onehot), os.path.join(one_dir, "classifier_grad.onnx"), ["z", "target"],
           ["logits", "grad"], {"z": b, "target": b, "logits": b, "grad": b})
    with open(os.path.join(one_dir, "README.md"), "w") as fh:
        fh.write(f"Test-made copy of models/esc50-latent/latent_classifier.onnx (and its gradient graph) whose first "
                 f"convolution reads latent channel {ONE_CHANNEL} only (the other input channels' weights are zero, "
                 f"channel {ONE_CHANNEL}'s kept). Written by models/train/latent_export.py for the attribution "
                 f"test in src/core/latent.test.ts: every attribution must fall on channel {ONE_CHANNEL}.\n")

    labels = json.load(open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "labels.json")))
    mpath = os.path.join(args.out, "manifest.json")
    prev = json.load(open(mpath)).get("results", {}) if os.path.exists(mpath) else {}
    rel = lambda k: os.path.basename(files[k])
    manifest = {
        "format": "lmac-bundle/1",
        "name": "esc50-latent",
        "description": "ESC-50 classifier on the latent space of a small STFT autoencoder (trained here on ESC-50 folds 1-3 "
                       "and hydrogen-drumkits samples); explanations are synthesised by decoding the top-β latent "
                       "features (seed: Audio Explanation Synthesis with Generative Foundation Models).",
        "license": "Weights trained on ESC-50 (CC BY-NC 3.0, Karol J. Piczak): non-commercial use only. "
                   "The autoencoder also saw samples of the Debian package hydrogen-drumkits (see README.md).",
        **FE.manifest_fields(),
        "labels": labels,
        "classifier": {"file": rel("classifier"), "sha256": sha256(files["classifier"]), "input": "magnitude",
                       "logits": "logits", "hidden": [],
                       "parameters": count_params(ae.enc) + count_params(clf)},
        "latent": {
            "channels": ae.cfg.latent,
            "frameRate": FE.sample_rate / FE.hop_length,
            "groups": GROUPS,
            "encoder": {"file": rel("encoder"), "sha256": sha256(files["encoder"]), "input": "magnitude", "output": "z",
                        "parameters": count_params(ae.enc)},
            "decoder": {"file": rel("decoder"), "sha256": sha256(files["decoder"]), "input": "z", "output": "magnitude",
                        "parameters": count_params(ae.dec)},
            "classifier": {"file": rel("zclf"), "sha256": sha256(files["zclf"]), "input": "z", "logits": "logits",
                           "parameters": count_params(clf)},
            "gradient": {"file": rel("grad"), "sha256": sha256(files["grad"]), "input": "z", "target": "target",
                         "logits": "logits", "grad": "grad", "frames": T},
            "baseline": "silence",
            "baselines": {k: [float(v) for v in base[k]] for k in ("silence", "mean")},
        },
        "opset": OPSET,
        "results": prev,
    }
    with open(mpath, "w") as fh:
        json.dump(manifest, fh, indent=1)
    total = sum(os.path.getsize(f) for f in files.values())
    print(f"wrote {args.out} ({total / 1e6:.2f} MB of ONNX), fixture {args.fixture}, {one_dir}")


if __name__ == "__main__":
    main()
