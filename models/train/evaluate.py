"""Evaluate the trained bundle on fold 4 and write models/esc50/RESULTS.md (+ runs/eval/results.json).

    /usr/bin/python3 models/train/evaluate.py [--limit N] [--decoder runs/NAME/final.pt] [--json PATH]
        [--no-write] [--fast]

Numbers: clean accuracy (overall and per class); faithfulness (methods.md definitions) of L-MAC and
the baselines all-ones, random mask of equal mean, gradient saliency, in-domain (0 dB mixtures
with another fold-4 clip or coloured noise, as in training) and out-of-domain (0.8·s/‖s‖ +
0.2·c/‖c‖ with another fold-4 clip); mask mean for the predicted class vs classes with p < 1 %;
sizes, parameter counts, onnxruntime-node timings and training wall times.
Placed events (issue 13): the energetic part of each fold-4 clip (class A) placed at 0 dB into
another fold-4 clip (class B), as `npm run bench:explain`; target A; time-AUC and TF-AUC over all
mixtures and over those where the classifier's top class is A ("detected"), and on the detected
ones SI-SDR of the explanation vs the clean A, of the residual vs the clean B, and the share of the
explanation's energy in A's bins (metrics.py).

--decoder: the decoder's final.pt (default: the shipped models/esc50 decoder, i.e. runs/ft-time4/final.pt,
else runs/decoder-default/final.pt rebuilt from models/esc50/decoder.onnx by
`from_onnx.py models/esc50 decoder-default`; the stage-1 decoder is runs/decoder-stage1/final.pt). --no-write: leave
RESULTS.md and manifest.json alone. --fast: in-domain faithfulness, placed events and the
belief-gate check only (no saliency, out-of-domain or onnxruntime timings), for sweeps.
"""
import argparse
import json
import os
import platform
import subprocess

import numpy as np
import torch

import metrics
from common import RUNS, load_trained, predict, setup
from data import coloured_noise, load_esc50, mix_at_snr
from export import ROOT
from frontend import istft, magnitude, stft
from placed import frame_labels, placed_batch, valid_frames
from model import Classifier, ClassifierConfig, DecoderConfig, MaskDecoder, count_params

PAPER = {
    "in": {"AI": 36.25, "AD": 1.15, "AG": 23.50, "FF": 0.20, "Fid-In": 0.42, "SPS": 0.47, "COMP": 4.71},
    "out": {"AI": 61.62, "AD": 3.83, "AG": 33.48, "FF": 0.40, "Fid-In": 0.82, "SPS": 0.93, "COMP": 9.77},
}
METRICS = ["AI", "AD", "AG", "FF", "Fid-In", "SPS", "COMP", "MM"]


# training wall times recorded from the original stage-1 checkpoints (from_onnx.py's rebuilds keep none)
RECORDED_WALL_S = {"classifier": 60.6 * 60, "decoder-stage1": 32.5 * 60}
SHIPPED_RUN = "ft-time4"  # the run models/esc50/decoder.onnx was exported from (RESULTS.md, "Guidance fine-tuning")


def default_decoder():
    p = os.path.join(RUNS, SHIPPED_RUN, "final.pt")
    return p if os.path.exists(p) else os.path.join(RUNS, "decoder-default", "final.pt")


def load(decoder_path=None):
    c, st = load_trained(os.path.join(RUNS, "classifier", "final.pt"), Classifier, ClassifierConfig, frozen=True)
    d, d_st = load_trained(decoder_path or default_decoder(), MaskDecoder, DecoderConfig, frozen=True)
    return c, d, st.get("wall") or RECORDED_WALL_S["classifier"], d_st.get("wall")


def saliency(c, mag, target):
    """Gradient saliency |∂logit_c/∂|X||, scaled to [0, 1] per example by its maximum."""
    m = mag.clone().requires_grad_(True)
    logits, _ = c(m)
    logits.gather(1, target[:, None]).sum().backward()
    g = m.grad.abs()
    return g / g.amax(dim=(1, 2), keepdim=True).clamp_min(1e-12)


def equal_mean_random(shape, mean, g):
    """Uniform on [0, 2·mean], or on [1 − 2·(1 − mean), 1] where mean > 0.5: in [0, 1], same mean."""
    u = torch.rand(shape, generator=g)
    return torch.where(mean <= 0.5, u * 2 * mean, 1 - u * 2 * (1 - mean))


def mixtures(ds, idx, kind, seed):
    """In-domain: 0 dB with another fold-4 clip of another class (or coloured noise, 1 in 3).
    Out-of-domain: 0.8·s/‖s‖ + 0.2·c/‖c‖ with another fold-4 clip of another class."""
    g = torch.Generator(); g.manual_seed(seed)
    x = torch.from_numpy(ds.waves[idx])
    partner = np.roll(idx, 7)
    same = ds.targets[partner] == ds.targets[idx]
    partner[same] = np.roll(idx, 13)[same]
    other = torch.from_numpy(ds.waves[partner])
    if kind == "in":
        noise = coloured_noise(len(idx), x.shape[1], g)
        use_noise = torch.rand(len(idx), 1, generator=g) < 1 / 3
        return mix_at_snr(x, torch.where(use_noise, noise, other), torch.zeros(len(idx)))
    n = lambda v: v / v.norm(dim=1, keepdim=True).clamp_min(1e-8)
    return 0.8 * n(x) + 0.2 * n(other)


@torch.no_grad()
def probs(c, mag):
    return c(mag)[0].softmax(1)


def faithfulness(c, d, ds, idx, kind, batch=25, saliency_baseline=True):
    rows = {k: [] for k in ["L-MAC", "all-ones", "random (equal mean)", "gradient saliency"][:4 if saliency_baseline else 3]}
    x_all = mixtures(ds, idx, kind, seed=2024)
    g = torch.Generator(); g.manual_seed(5)
    for i in range(0, len(idx), batch):
        mag = magnitude(x_all[i:i + batch])
        with torch.no_grad():
            logits, hidden = c(mag)
        p = logits.softmax(1)
        target = p.argmax(1)
        with torch.no_grad():
            m_lmac = d(*hidden, target)
        mean = m_lmac.mean(dim=(1, 2), keepdim=True)
        masks = {"L-MAC": m_lmac, "all-ones": torch.ones_like(mag),
                 # uniform noise of the same per-example mean, in [0, 1] (mirrored when the mean > 0.5)
                 "random (equal mean)": equal_mean_random(mag.shape, mean, g)}
        if saliency_baseline:
            masks["gradient saliency"] = saliency(c, mag, target)
        for name, m in masks.items():
            q, r = probs(c, m * mag), probs(c, (1 - m) * mag)
            rows[name].append(metrics.per_example(p, q, r, target, m))
    return {k: metrics.average(v) for k, v in rows.items()}


@torch.no_grad()
def placed_events(c, d, ds, idx, snr_db=0.0, seed=2025, batch=20):
    """Ground truth and listenability on placed events (module doc); per method averages."""
    rng = np.random.default_rng(seed)
    g = torch.Generator(); g.manual_seed(6)
    partner = np.roll(idx, 7)
    same = ds.targets[partner] == ds.targets[idx]
    partner[same] = np.roll(idx, 13)[same]
    names = ["L-MAC", "all-ones", "random (equal mean)"]
    acc = {k: {"timeAuc": [], "tfAuc": [], "detTimeAuc": [], "detTfAuc": [], "siSdrIn": [], "siSdrOut": [],
               "energyShare": [], "maskMean": []} for k in names}
    hits = []
    for i in range(0, len(idx), batch):
        pairs = list(zip(idx[i:i + batch].tolist(), partner[i:i + batch].tolist()))
        b = placed_batch(ds.waves, ds.targets, pairs, snr_db, rng)
        spec = stft(b["mix"])
        mag = spec.abs()
        bins_a = (stft(b["event"]).abs() > stft(b["bg"]).abs()).float()
        logits, hidden = c(mag)
        ta = b["target_a"]
        det = (logits.argmax(1) == ta).numpy()
        hits.extend(det.tolist())
        m_lmac = d(*hidden, ta)
        mean = m_lmac.mean(dim=(1, 2), keepdim=True)
        masks = {"L-MAC": m_lmac, "all-ones": torch.ones_like(mag),
                 "random (equal mean)": equal_mean_random(mag.shape, mean, g)}
        L = b["mix"].shape[1]
        T = mag.shape[2]
        valid = valid_frames(L, T)
        tlab = frame_labels(b, T)[:, :valid].numpy()
        for name, m in masks.items():
            x_in, x_out = istft(m * spec, L), istft((1 - m) * spec, L)
            sdr_in, sdr_out = metrics.si_sdr(x_in, b["event"]), metrics.si_sdr(x_out, b["bg"])
            share = metrics.energy_share(m, mag, bins_a)
            a = acc[name]
            for k in range(len(pairs)):
                t_auc = metrics.roc_auc(m[k, :, :valid].mean(0).numpy(), tlab[k])
                f_auc = metrics.roc_auc(m[k, :, :valid].flatten().numpy(), bins_a[k, :, :valid].flatten().numpy())
                a["timeAuc"].append(t_auc); a["tfAuc"].append(f_auc)
                if det[k]:
                    a["detTimeAuc"].append(t_auc); a["detTfAuc"].append(f_auc)
                    a["siSdrIn"].append(float(sdr_in[k])); a["siSdrOut"].append(float(sdr_out[k]))
                    a["energyShare"].append(float(share[k])); a["maskMean"].append(float(m[k].mean()))
    nanmean = lambda v: float(np.nanmean(v)) if len(v) and not np.all(np.isnan(v)) else float("nan")
    out = {"detectedRate": float(np.mean(hits)), "mixtures": len(hits), "snrDb": snr_db}
    for name, a in acc.items():
        out[name] = {"timeAuc": nanmean(a["timeAuc"]), "tfAuc": nanmean(a["tfAuc"]),
                     "detected": {"n": len(a["detTimeAuc"]), "timeAuc": nanmean(a["detTimeAuc"]),
                                  "tfAuc": nanmean(a["detTfAuc"]), "siSdrIn": nanmean(a["siSdrIn"]),
                                  "siSdrOut": nanmean(a["siSdrOut"]), "energyShare": nanmean(a["energyShare"]),
                                  "maskMean": nanmean(a["maskMean"]),
                                  "silentResidual": int(np.sum(np.isnan(a["siSdrOut"])))}}
    return out


@torch.no_grad()
def mask_selectivity(c, d, ds, idx, batch=25, per_clip=5):
    """Mean mask for the predicted class vs for classes with p < 1 % (up to per_clip per clip)."""
    g = torch.Generator(); g.manual_seed(11)
    top, low = [], []
    for i in range(0, len(idx), batch):
        mag = magnitude(torch.from_numpy(ds.waves[idx[i:i + batch]]))
        logits, hidden = c(mag)
        p = logits.softmax(1)
        top.append(d(*hidden, p.argmax(1)).mean(dim=(1, 2)))
        for _ in range(per_clip):
            cand = (p < 0.01).float() + 1e-9 * torch.rand(p.shape, generator=g)
            t = cand.argmax(1)  # a random class with p < 1 % (ties broken randomly)
            ok = p.gather(1, t[:, None])[:, 0] < 0.01
            low.append(d(*hidden, t).mean(dim=(1, 2))[ok])
    return float(torch.cat(top).mean()), float(torch.cat(low).mean())


def fmt(v, k):
    return f"{v:.2f}" if k in ("AI", "AD", "AG", "COMP") else f"{v:.3f}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--limit", type=int, default=0, help="evaluate only the first N fold-4 clips (smoke test)")
    ap.add_argument("--decoder", default=None, help="decoder final.pt (default: runs/decoder, else runs/decoder-stage1)")
    ap.add_argument("--json", default=None, help="also write the results here")
    ap.add_argument("--no-write", action="store_true", help="leave RESULTS.md and manifest.json alone")
    ap.add_argument("--fast", action="store_true", help="in-domain faithfulness, placed events, belief gate only")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    setup(0, threads=args.threads)
    ds = load_esc50()
    va = ds.subset([4])
    if args.limit:
        va = va[:args.limit]
    c, d, cls_wall, dec_wall = load(args.decoder)
    if args.fast:
        res = {"decoder": args.decoder or default_decoder(), "clips": int(len(va)),
               "faithfulness": {"in": faithfulness(c, d, ds, va, "in", saliency_baseline=False)},
               "placed": placed_events(c, d, ds, va)}
        res["maskMeanPredicted"], res["maskMeanUnlikely"] = mask_selectivity(c, d, ds, va)
        if args.json:
            json.dump(res, open(args.json, "w"), indent=1)
        print(json.dumps(res, indent=1))
        return
    pred = predict(c, ds.waves[va]).argmax(1).numpy()
    acc = float((pred == ds.targets[va]).mean())
    per_class = {ds.labels[k]: float((pred[ds.targets[va] == k] == k).mean()) for k in range(50)
                 if (ds.targets[va] == k).any()}
    faith = {kind: faithfulness(c, d, ds, va, kind) for kind in ("in", "out")}
    placed = placed_events(c, d, ds, va)
    mm_top, mm_low = mask_selectivity(c, d, ds, va)
    bundle = os.path.join(ROOT, "models", "esc50")
    bench = json.loads(subprocess.run(["node", os.path.join(os.path.dirname(__file__), "onnx_bench.mjs"),
                                       bundle, "30"], capture_output=True, text=True, check=True, cwd=ROOT).stdout)
    sizes = {f: os.path.getsize(os.path.join(bundle, f)) for f in ("classifier.onnx", "decoder.onnx")}
    dec_path = os.path.relpath(os.path.abspath(args.decoder or default_decoder()), os.path.dirname(os.path.abspath(__file__)))
    res = {"decoder": dec_path, "fold4Accuracy": acc, "perClass": per_class, "faithfulness": faith, "placed": placed,
           "maskMeanPredicted": mm_top, "maskMeanUnlikely": mm_low, "clips": int(len(va)),
           "params": {"classifier": count_params(c), "decoder": count_params(d)}, "sizes": sizes,
           "onnxruntimeNode": bench, "trainWallS": {"classifier": cls_wall, "decoder": dec_wall},
           "machine": f"{platform.machine()}, {os.cpu_count()} cores, {bench['cpu']}"}
    os.makedirs(os.path.join(RUNS, "eval"), exist_ok=True)
    json.dump(res, open(os.path.join(RUNS, "eval", "results.json"), "w"), indent=1)
    if args.json:
        json.dump(res, open(args.json, "w"), indent=1)
    if args.no_write:
        print(json.dumps({k: res[k] for k in ("fold4Accuracy", "maskMeanPredicted", "maskMeanUnlikely")}))
        print(json.dumps({"faithfulness": faith, "placed": placed}, indent=1))
        return
    mpath = os.path.join(bundle, "manifest.json")
    man = json.load(open(mpath))
    man["results"] = {"fold4Accuracy": round(acc, 4), "fold4Clips": int(len(va)),
                      "maskMeanPredicted": round(mm_top, 4), "maskMeanUnlikely": round(mm_low, 4)}
    open(mpath, "w").write(json.dumps(man, indent=1, ensure_ascii=False) + "\n")
    if not args.limit:
        write_results_md(res, os.path.join(bundle, "RESULTS.md"))
    print(json.dumps({k: res[k] for k in ("fold4Accuracy", "maskMeanPredicted", "maskMeanUnlikely")}))
    print(json.dumps(faith, indent=1))


def write_results_md(res, path):
    L = []
    w = L.append
    w("# models/esc50 — measured results\n")
    w(f"Machine: {res['machine']} (no GPU); PyTorch {torch.__version__} on 2 threads. "
      "All numbers below were produced by the commands shown, on ESC-50 fold 4 "
      f"({res['clips']} clips) with the model trained on folds 1-3.\n")
    w("Reproduce: `/usr/bin/python3 models/train/train_classifier.py && /usr/bin/python3 "
      "models/train/train_decoder.py && /usr/bin/python3 models/train/export.py`, then the guidance fine-tuning "
      "runs of the section \"Guidance fine-tuning (issue 13)\" below and `export_finetuned.py`; "
      "`/usr/bin/python3 models/train/evaluate.py` writes this file.\n")
    w(f"**Decoder measured:** `models/train/{res['decoder']}`. Since session 24 `decoder.onnx` is the guidance "
      f"fine-tuned decoder (run {SHIPPED_RUN}); the stage-1 decoder is in `models/esc50-stage1` (its row is in "
      "\"Guidance fine-tuning\"). The `bench:explain` section further down says which decoder it measured.\n")
    w("## Classification (clean fold 4)\n")
    w(f"**Accuracy: {100 * res['fold4Accuracy']:.2f} %** ({res['clips']} clips; floor 72 %).\n")
    w("| class | acc | class | acc | class | acc | class | acc | class | acc |")
    w("|---|---|---|---|---|---|---|---|---|---|")
    items = list(res["perClass"].items())
    for i in range(0, len(items), 5):
        w("| " + " | ".join(f"{k} | {100 * v:.0f} %" for k, v in items[i:i + 5]) + " |")
    w("")
    for kind, title in (("in", "In-domain (0 dB mixtures with another fold-4 clip or coloured noise)"),
                        ("out", "Out-of-domain (0.8·s/‖s‖ + 0.2·c/‖c‖ with another fold-4 clip)")):
        w(f"## Faithfulness — {title}\n")
        w("Target = the classifier's predicted class on the mixture. Definitions: `shared/docs/methods.md` "
          "(AI, AG, FF, Fid-In, SPS higher is better; AD, COMP lower is better; MM = mask mean).\n")
        w("| method | " + " | ".join(METRICS) + " |")
        w("|---|" + "---|" * len(METRICS))
        for name, vals in res["faithfulness"][kind].items():
            w(f"| {name} | " + " | ".join(fmt(vals[k], k) for k in METRICS) + " |")
        ref = PAPER[kind]
        label = "paper Table 1, L-MAC (CNN14)" if kind == "in" else "reference recipe, L-MAC (CNN14)"
        w(f"| *{label}* | " + " | ".join(fmt(ref[k], k) if k in ref else "–" for k in METRICS) + " |")
        w("")
    w("## Does the mask follow the target class?\n")
    ratio = res["maskMeanUnlikely"] / max(res["maskMeanPredicted"], 1e-9)
    w(f"Mean mask on clean fold-4 clips: predicted class **{res['maskMeanPredicted']:.4f}**, "
      f"classes with p < 1 % (5 random ones per clip) **{res['maskMeanUnlikely']:.4f}** "
      f"(ratio {ratio:.3f}; target ≤ 0.3).\n")
    w("## Size and speed\n")
    p, s, b, t = res["params"], res["sizes"], res["onnxruntimeNode"], res["trainWallS"]
    w("| part | parameters | ONNX file | onnxruntime-node, 1 window (5 s), median of 30 | training wall time |")
    w("|---|---|---|---|---|")
    w(f"| classifier | {p['classifier']:,} | {s['classifier.onnx'] / 1e6:.2f} MB | {b['classifierMs']:.1f} ms | "
      f"{t['classifier'] / 60:.1f} min |")
    dec_wall = f"{RECORDED_WALL_S['decoder-stage1'] / 60:.1f} min stage 1"
    if t["decoder"]:
        dec_wall += f" + {t['decoder'] / 60:.1f} min in the last fine-tuning run (earlier runs: \"Guidance fine-tuning\")"
    w(f"| decoder | {p['decoder']:,} | {s['decoder.onnx'] / 1e6:.2f} MB | {b['decoderMs']:.1f} ms | {dec_wall} |")
    w(f"\nTimings: `node models/train/onnx_bench.mjs models/esc50 30` ({b['threads']} threads, {b['cpu']}). "
      "Training wall time is the sum of epoch times in `models/train/runs/*/log.jsonl` on this machine "
      "(2 cores, shared with other work during training).\n")
    w("## Training notes\n")
    w("- Classifier: 60 epochs, AdamW 2e-3 cosine, batch 32; waveform shift/gain, background mixing "
      "(another clip or coloured noise at 3-25 dB), mixup (equal-RMS, Beta(0.6)), SpecAugment. "
      "The last epoch is shipped (no checkpoint selection on fold 4).")
    w("- Decoder: 20 epochs, Adam 1e-3 cosine, batch 16, on 0 dB mixtures (80 %) and clean clips; "
      "targets uniform among the classifier's top-3 or (25 %) uniformly random, CE terms weighted "
      "by p_c. The mask is gated by the classifier's own belief in the target "
      "(`MaskDecoder.belief_gate`, sigmoid(2·(log p_c − log 0.02))): without it the mask means for "
      "the top class and for unlikely classes stayed equal. Run history (resumed from checkpoints): "
      "epochs 1-6 plain loss, 7-9 with an extra (1−p_c)-weighted sparsity term, 10-20 with the gate.")
    w("- Decoder, fine-tuning (issue 13, `finetune_decoder.py`): the paper's guidance term with its cosine "
      "criterion (λ_g 2) on placed-event mixtures with the target's own bins as BCE targets, completeness and "
      "smoothness terms, −SI-SDR against the target's clean source, a frame-ranking term for time-AUC; "
      "the runs, their order and commands are in \"Guidance fine-tuning (issue 13)\".")
    w("- Both stages ran on this 2-core machine while the app was being built beside them.\n")
    text = "\n".join(L) + "\n"
    marker = "<!-- bench:explain -->"
    old = open(path).read() if os.path.exists(path) else ""
    if marker in old:  # keep the section that `npm run bench:explain` appends
        text += "\n" + marker + old.split(marker, 1)[1]
    open(path, "w").write(text)


if __name__ == "__main__":
    main()
