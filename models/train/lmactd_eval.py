"""Fold-4 evaluation of the LMAC-TD time decoder beside the L-MAC mask decoder (issue 14).

    /usr/bin/python3 models/train/lmactd_eval.py [--weights runs/lmactd/final.pt] [--decoder PATH]
        [--limit N] [--json runs/lmactd/eval.json] [--only lsd]

Faithfulness (evaluate.py's mixtures and metrics.per_example, target = the classifier's top class
on the mixture): in-domain (0 dB with another fold-4 clip or coloured noise) and out-of-domain
(0.8·s/‖s‖ + 0.2·c/‖c‖). For L-MAC, q/r come from the classifier on M⊙|X| and (1−M)⊙|X| (as
evaluate.py) and, as "L-MAC (audio)", on |STFT(ISTFT(M⊙X))| and |STFT(ISTFT((1−M)⊙X))|, i.e. on the
audio one listens to; for LMAC-TD on |STFT(x_in)| and |STFT(x − x_in)|. SPS/COMP/MM of LMAC-TD use
its effective mask min(1, |X_in|/|X|).
SI-SDR (metrics.si_sdr): (a) evaluate.py's placed events (the energetic part of A placed at 0 dB
into B, seed 2025) and (b) whole-clip 0 dB mixtures A + B; both on the mixtures whose top class is
A: the explanation for A vs the clean A and the residual vs the clean B.
Belief: explanation energy / input energy for the top class vs classes with p < 1 %.
Log-spectral distance (clean clips, target = top class): in the explained region, the frames whose
explanation energy is within 20 dB of its loudest frame, per frame
sqrt(mean over bins of (10·log10((|E|² + ε) / (|X|² + ε)))²), ε = 1e-8 · max |X|² of the clip, averaged
over those frames and then clips; for LMAC-TD (E = STFT(x_in)) and L-MAC's audio (E = STFT(ISTFT(M⊙X))).
`--only lsd` (or `--only belief`, the belief energies) computes just that and adds it to an existing --json. `--td-only` (to compare time
decoder checkpoints on the same clips in less time) computes only the LMAC-TD rows, the SI-SDR
table and the LSD (L-MAC's rows there as well); it skips the rows that do not depend on the time
decoder (L-MAC, L-MAC (audio), all-ones, random, evaluate.py's placed events) and the belief
energies (4 time decoder runs per clip).
"""
import argparse
import json
import os
import platform
import time

import numpy as np
import torch

import metrics
from common import RUNS
from data import load_esc50, mix_at_snr
from evaluate import default_decoder, faithfulness, load, mixtures, placed_events, probs
from frontend import istft, magnitude, stft
from lmactd_export import load_time_decoder
from placed import placed_batch


@torch.no_grad()
def td_faithfulness(c, d, td, ds, idx, kind, batch=25, lmac=True):
    rows = {"LMAC-TD": [], "L-MAC (audio)": []} if lmac else {"LMAC-TD": []}
    x_all = mixtures(ds, idx, kind, seed=2024)
    for i in range(0, len(idx), batch):
        x = x_all[i:i + batch]
        spec = stft(x)
        mag = spec.abs()
        logits, h = c(mag)
        p = logits.softmax(1)
        target = p.argmax(1)
        e = td(x, h[2], h[3], target)
        me = magnitude(e)
        eff = (me / mag.clamp_min(1e-8)).clamp(0, 1)
        rows["LMAC-TD"].append(metrics.per_example(p, probs(c, me), probs(c, magnitude(x - e)), target, eff))
        if not lmac:
            continue
        m = d(*h, target)
        xin, xout = istft(m * spec, x.shape[1]), istft((1 - m) * spec, x.shape[1])
        rows["L-MAC (audio)"].append(metrics.per_example(p, probs(c, magnitude(xin)), probs(c, magnitude(xout)), target, m))
    return {k: metrics.average(v) for k, v in rows.items()}


def log_spectral_distance(e, x, region_db=20.0):
    """Per clip: mean over the explained frames (frame energy of E within region_db of its loudest) of
    the per-frame RMS over bins of 10·log10((|E|² + ε)/(|X|² + ε)), ε = 1e-8 · max |X|²; NaN when E is silent."""
    pe, px = magnitude(e).pow(2), magnitude(x).pow(2)
    eps = 1e-8 * px.amax(dim=(1, 2), keepdim=True).clamp_min(1e-20)
    d = 10 * torch.log10((pe + eps) / (px + eps))
    per_frame = d.pow(2).mean(1).sqrt()  # [B, T]
    fe = pe.sum(1)  # [B, T]
    region = fe >= fe.amax(1, keepdim=True) * 10 ** (-region_db / 10)
    region &= fe.amax(1, keepdim=True) > 0
    n = region.sum(1)
    lsd = (per_frame * region).sum(1) / n.clamp_min(1)
    lsd[n == 0] = float("nan")
    return lsd, n.float() / region.shape[1]


@torch.no_grad()
def td_lsd(c, d, td, ds, idx, batch=25):
    """Log-spectral distance of LMAC-TD's and L-MAC's (audio) explanations to the clean clip in the explained region."""
    out = {"LMAC-TD": [], "L-MAC (audio)": []}
    frac = {k: [] for k in out}
    for i in range(0, len(idx), batch):
        x = torch.from_numpy(ds.waves[idx[i:i + batch]])
        spec = stft(x)
        logits, h = c(spec.abs())
        t = logits.argmax(1)
        for name, e in (("LMAC-TD", td(x, h[2], h[3], t)), ("L-MAC (audio)", istft(d(*h, t) * spec, x.shape[1]))):
            lsd, f = log_spectral_distance(e, x)
            out[name].extend(lsd.tolist())
            frac[name].extend(f.tolist())
    return {k: {"lsdDb": nanmean(v), "lsdDbMedian": float(np.nanmedian(v)), "regionFrames": nanmean(frac[k]),
                "clips": int(np.sum(~np.isnan(v)))} for k, v in out.items()}


def nanmean(v):
    v = np.asarray(v, dtype=np.float64)
    return float(np.nanmean(v)) if len(v) and not np.all(np.isnan(v)) else float("nan")


@torch.no_grad()
def td_separation(c, d, td, ds, idx, batch=20):
    """SI-SDR on placed events (same mixtures as evaluate.placed_events) and whole-clip 0 dB mixes."""
    out = {}
    partner = np.roll(idx, 7)
    same = ds.targets[partner] == ds.targets[idx]
    partner[same] = np.roll(idx, 13)[same]
    for setting in ("placed", "whole"):
        rng = np.random.default_rng(2025)
        acc = {k: {"in": [], "out": []} for k in ("LMAC-TD", "L-MAC")}
        er = []
        hits = []
        for i in range(0, len(idx), batch):
            pairs = list(zip(idx[i:i + batch].tolist(), partner[i:i + batch].tolist()))
            if setting == "placed":
                b = placed_batch(ds.waves, ds.targets, pairs, 0.0, rng)
                mix, a, bg, ta = b["mix"], b["event"], b["bg"], b["target_a"]
            else:
                a = torch.from_numpy(ds.waves[[p for p, _ in pairs]])
                other = torch.from_numpy(ds.waves[[q for _, q in pairs]])
                mix = mix_at_snr(a, other, torch.zeros(len(pairs)))
                bg = mix - a
                ta = torch.from_numpy(ds.targets[[p for p, _ in pairs]])
            spec = stft(mix)
            logits, h = c(spec.abs())
            det = (logits.argmax(1) == ta)
            hits.extend(det.tolist())
            if not det.any():
                continue
            k = det.nonzero()[:, 0]
            mix, a, bg, ta, spec = mix[k], a[k], bg[k], ta[k], spec[k]
            hk = [t[k] for t in h]
            e = td(mix, hk[2], hk[3], ta)
            m = d(*hk, ta)
            L = mix.shape[1]
            xin = istft(m * spec, L)
            for name, (ein, eout) in {"LMAC-TD": (e, mix - e), "L-MAC": (xin, istft((1 - m) * spec, L))}.items():
                acc[name]["in"].extend(metrics.si_sdr(ein, a).tolist())
                acc[name]["out"].extend(metrics.si_sdr(eout, bg).tolist())
            er.extend((e.pow(2).sum(1) / mix.pow(2).sum(1)).tolist())
        out[setting] = {"mixtures": len(hits), "detected": int(np.sum(hits)), "tdEnergyRatio": nanmean(er),
                        **{name: {"siSdrIn": nanmean(v["in"]), "siSdrOut": nanmean(v["out"]),
                                  "siSdrInMedian": float(np.nanmedian(v["in"])) if v["in"] else float("nan")}
                           for name, v in acc.items()}}
    return out


@torch.no_grad()
def td_belief(c, td, ds, idx, batch=25, per_clip=3):
    g = torch.Generator(); g.manual_seed(11)
    top, low = [], []
    for i in range(0, len(idx), batch):
        x = torch.from_numpy(ds.waves[idx[i:i + batch]])
        logits, h = c(magnitude(x))
        p = logits.softmax(1)
        en = x.pow(2).sum(1).clamp_min(1e-8)
        top.append(td(x, h[2], h[3], p.argmax(1)).pow(2).sum(1) / en)
        for _ in range(per_clip):
            cand = (p < 0.01).float() + 1e-9 * torch.rand(p.shape, generator=g)
            t = cand.argmax(1)
            ok = p.gather(1, t[:, None])[:, 0] < 0.01
            low.append((td(x, h[2], h[3], t).pow(2).sum(1) / en)[ok])
    return float(torch.cat(top).mean()), float(torch.cat(low).mean())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--weights", default=None)
    ap.add_argument("--decoder", default=None)
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--json", default=os.path.join(RUNS, "lmactd", "eval.json"))
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--only", choices=["lsd", "belief"], default=None, help="compute only this part and add it to an existing --json")
    ap.add_argument("--td-only", action="store_true", help="only the LMAC-TD faithfulness rows, SI-SDR and LSD (to compare checkpoints)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    t0 = time.time()
    ds = load_esc50()
    va = ds.subset([4])
    if args.limit:
        va = va[:args.limit]
    c, d, _, _ = load(args.decoder)
    td, st, wpath = load_time_decoder(args.weights)
    if args.only:
        res = json.load(open(args.json)) if os.path.exists(args.json) else {}
        if args.only == "lsd":
            part = res["lsd"] = td_lsd(c, d, td, ds, va)
        else:
            top, low = td_belief(c, td, ds, va)
            part = res["belief"] = {"energyTop": top, "energyUnlikely": low}
        part["clips"] = int(len(va))
        part["wallS"] = round(time.time() - t0, 1)
        part["machine"] = f"{platform.machine()}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}, torch threads {args.threads}"
        os.makedirs(os.path.dirname(args.json), exist_ok=True)
        json.dump(res, open(args.json, "w"), indent=1)
        print(json.dumps(part))
        return
    res = {"clips": int(len(va)), "weights": wpath, "decoder": args.decoder or default_decoder(),
           "tdTrainWallS": st.get("wall"), "tdSteps": st.get("steps", st.get("step")), "faithfulness": {}}
    if args.td_only:
        res["tdOnly"] = True
    for kind in ("in", "out"):
        f = {} if args.td_only else faithfulness(c, d, ds, va, kind, saliency_baseline=False)
        f.update(td_faithfulness(c, d, td, ds, va, kind, lmac=not args.td_only))
        res["faithfulness"][kind] = f
        print(kind, json.dumps({k: {m: round(v, 3) for m, v in r.items()} for k, r in f.items()}), flush=True)
    res["separation"] = td_separation(c, d, td, ds, va)
    print(json.dumps(res["separation"]), flush=True)
    if not args.td_only:
        res["beliefEnergyTop"], res["beliefEnergyUnlikely"] = td_belief(c, td, ds, va)
    res["lsd"] = {**td_lsd(c, d, td, ds, va), "clips": int(len(va))}
    print(json.dumps({"lsd": res["lsd"]}), flush=True)
    if not args.td_only:
        res["lmacPlaced"] = placed_events(c, d, ds, va)["L-MAC"]
    res["evalWallS"] = round(time.time() - t0, 1)
    res["machine"] = f"{platform.machine()}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}, torch threads {args.threads}"
    os.makedirs(os.path.dirname(args.json), exist_ok=True)
    json.dump(res, open(args.json, "w"), indent=1)
    print(json.dumps({k: res[k] for k in ("beliefEnergyTop", "beliefEnergyUnlikely", "evalWallS", "machine") if k in res}))


if __name__ == "__main__":
    main()
