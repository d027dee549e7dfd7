"""Evaluate the latent explainer on ESC-50 fold 4 (the numbers in models/esc50-latent/RESULTS.md).

    TORCH_THREADS=1 /usr/bin/python3 models/train/latent_eval.py [--clips 400] [--occlusion-clips 100]
        [--inputs clean|in|out] [--baseline silence|mean] [--out runs/latent-eval.json]

Per clip x (5 s): Z = Enc(|STFT x|), p = softmax f(Z), target c = argmax p. Reconstruction
x_rec = ISTFT(Dec(Z)·e^{j∠X}): SI-SDR (metrics.si_sdr) and log-spectral distance
LSD = mean over frames of sqrt(mean over bins (10·log10(|X|²+1e-10) − 10·log10(|X̂|²+1e-10))²) dB,
with |X̂| = |STFT x_rec|. For each attribution method (gradxinput, occlusion on the first
--occlusion-clips clips, random = random cell scores, a sanity baseline) and β: explanation x_in =
ISTFT(Dec(Z_keep)·e^{j∠X}), removed x_out = ISTFT(Dec(Z_remove)·e^{j∠X}); q = softmax f(Enc(|STFT x_in|)),
r = softmax f(Enc(|STFT x_out|)) (decoded audio re-encoded, as the seed measures). Reported: accuracy
against the ESC-50 labels of f on x, x_rec, x_in and x_out; share of x_out still predicted as c
(the seed's "removal should move predictions away"); AI, AD, FF, Fid-In (metrics.per_example, the
kept-cell mask as M); energy of x_in and x_out relative to x.
"""
import argparse
import json
import os
import time

import numpy as np
import torch

from common import RUNS, cli_help, load_trained, stage_weights
from data import load_esc50
from frontend import FE, stft
from latent_explain import apply_keep, grad_x_input, occlusion, resynth, top_beta
from latent_model import AEConfig, LatentAE, ZClassifier, ZClassifierConfig, ZClassifierGrad
from metrics import per_example, si_sdr

BETAS = (0.05, 0.1, 0.2, 0.5)
GROUPS = 8


def lsd(x_hat, x):
    a = 10 * torch.log10(stft(x).abs() ** 2 + 1e-10)
    b = 10 * torch.log10(stft(x_hat).abs() ** 2 + 1e-10)
    return (a - b).pow(2).mean(1).sqrt().mean(1)


def main():
    cli_help(__doc__)
    ap = argparse.ArgumentParser()
    ap.add_argument("--clips", type=int, default=400)
    ap.add_argument("--occlusion-clips", type=int, default=100)
    ap.add_argument("--batch", type=int, default=20)
    ap.add_argument("--out", default=os.path.join(RUNS, "latent-eval.json"))
    ap.add_argument("--clf-stage", default="latent-clf")
    ap.add_argument("--baseline", choices=["silence", "mean"], default="silence")
    ap.add_argument("--inputs", choices=["clean", "in", "out"], default="clean",
                    help="clean fold-4 clips, or evaluate.py's in-domain / out-of-domain mixtures (L-MAC's tables)")
    args = ap.parse_args()
    torch.set_num_threads(int(os.environ.get("TORCH_THREADS", 1)))
    t_start = time.time()
    ae, _ = load_trained(stage_weights("latent-ae"), LatentAE, AEConfig, frozen=True)
    st = torch.load(stage_weights(args.clf_stage))
    clf = ZClassifier(ZClassifierConfig(**st["model_config"])); clf.load_state_dict(st["model"]); clf.eval()
    gm = ZClassifierGrad(clf)
    base = st["baselines"][args.baseline]
    ds = load_esc50()
    va = ds.subset([4])[: args.clips]
    if args.inputs == "clean":
        waves_all = torch.from_numpy(ds.waves[va])
    else:
        from evaluate import mixtures
        waves_all = mixtures(ds, va, args.inputs, seed=2024)  # the clips of models/esc50/RESULTS.md's tables
    g = torch.Generator(); g.manual_seed(4)

    def probs_of(audio):
        with torch.no_grad():
            return torch.softmax(clf(ae.encode(stft(audio).abs())), -1)

    acc = {"original": [], "reconstruction": []}
    rec_sisdr, rec_lsd = [], []
    rows = {}  # (method, beta) -> list of dict of tensors
    for i in range(0, len(va), args.batch):
        idx = va[i:i + args.batch]
        x = waves_all[i:i + args.batch].contiguous()
        y = torch.from_numpy(ds.targets[idx])
        spec = stft(x)
        with torch.no_grad():
            z = ae.encode(spec.abs())
            p = torch.softmax(clf(z), -1)
        c = p.argmax(1)
        x_rec = resynth(ae, z, spec, FE.window_samples)
        acc["original"].append((c == y).float())
        acc["reconstruction"].append((probs_of(x_rec).argmax(1) == y).float())
        rec_sisdr.append(si_sdr(x_rec, x)); rec_lsd.append(lsd(x_rec, x))
        methods = {"gradxinput": grad_x_input(gm, z, base, c, GROUPS),
                   "random": torch.rand(len(idx), z.shape[1], GROUPS, generator=g)}
        n_occ = max(0, min(len(idx), args.occlusion_clips - i))
        if n_occ:
            methods["occlusion"] = occlusion(clf, z[:n_occ], base, c[:n_occ], GROUPS)
        for m, scores in methods.items():
            k = len(scores)
            for beta in BETAS:
                keep = top_beta(scores, beta)
                zk, zr = apply_keep(z[:k], base, keep)
                x_in = resynth(ae, zk, spec[:k], FE.window_samples)
                x_out = resynth(ae, zr, spec[:k], FE.window_samples)
                q, r = probs_of(x_in), probs_of(x_out)
                pe = per_example(p[:k], q, r, c[:k], keep)
                pe["acc_in"] = (q.argmax(1) == y[:k]).float()
                pe["acc_out"] = (r.argmax(1) == y[:k]).float()
                pe["out_still_c"] = (r.argmax(1) == c[:k]).float()
                ex = x[:k].pow(2).sum(1).clamp_min(1e-12)
                pe["energy_in"] = x_in.pow(2).sum(1) / ex
                pe["energy_out"] = x_out.pow(2).sum(1) / ex
                rows.setdefault((m, beta), []).append(pe)
        print(json.dumps({"clips": i + len(idx), "t": round(time.time() - t_start, 1)}), flush=True)

    ss = torch.cat(rec_sisdr)
    out = {
        "inputs": args.inputs, "clips": len(va), "occlusionClips": min(args.occlusion_clips, len(va)), "groups": GROUPS, "baseline": args.baseline,
        "accuracy": {k: float(torch.cat(v).mean()) for k, v in acc.items()},
        "reconstruction": {"siSdrMedian": float(ss[~ss.isnan()].median()), "siSdrMean": float(ss[~ss.isnan()].mean()),
                           "siSdrClips": int((~ss.isnan()).sum()), "lsdMean": float(torch.cat(rec_lsd).mean())},
        "explainers": {},
        "seconds": round(time.time() - t_start, 1),
    }
    for (m, beta), rs in rows.items():
        keys = ["AI", "AD", "FF", "Fid-In", "acc_in", "acc_out", "out_still_c", "energy_in", "energy_out"]
        out["explainers"].setdefault(m, {})[str(beta)] = {k: float(torch.cat([r[k] for r in rs]).mean()) for k in keys} | {
            "clips": int(sum(len(r["AI"]) for r in rs))}
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as fh:
        json.dump(out, fh, indent=1)
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
