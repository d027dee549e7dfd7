"""Upper bounds for the placed-event measures (issue 13): what a mask that knows the sources scores.

    /usr/bin/python3 models/train/oracle_masks.py [--pairs 100]

On placed-event mixtures of fold 4 (0 dB, placed.py, the same construction as evaluate.py), for
the ideal binary mask of A (1[|A| > |B|]), that mask smoothed to the decoder's resolution (mean
over each mel band with the mel filterbank, back to linear bins with the decoder's own
mel_to_linear matrix; the decoder predicts mel-resolution logits) and the ideal ratio mask
|A| / (|A| + |B|): TF-AUC, SI-SDR of the explanation vs A and of the residual vs B, energy share.
"""
import argparse
import json

import numpy as np
import torch

import metrics
from data import load_esc50
from frontend import FE, istft, mel_filterbank, mel_to_linear, stft
from placed import frame_labels, placed_batch, valid_frames


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pairs", type=int, default=100)
    args = ap.parse_args()
    torch.set_num_threads(1)
    ds = load_esc50()
    va = ds.subset([4])[: args.pairs]
    partner = np.roll(va, 7)
    same = ds.targets[partner] == ds.targets[va]
    partner[same] = np.roll(va, 13)[same]
    rng = np.random.default_rng(2025)
    fb = torch.from_numpy(mel_filterbank(FE))  # [M, F]
    fb = fb / fb.sum(1, keepdim=True).clamp_min(1e-12)
    m2l = torch.from_numpy(mel_to_linear(FE))  # [F, M]
    acc = {}
    for i in range(0, len(va), 20):
        pairs = list(zip(va[i:i + 20].tolist(), partner[i:i + 20].tolist()))
        b = placed_batch(ds.waves, ds.targets, pairs, 0.0, rng)
        spec = stft(b["mix"]); mag = spec.abs()
        ea, eb = stft(b["event"]).abs(), stft(b["bg"]).abs()
        ibm = (ea > eb).float()
        masks = {"ideal binary mask": ibm,
                 "IBM at mel resolution": torch.matmul(m2l, torch.matmul(fb, ibm)).clamp(0, 1),
                 "ideal ratio mask": ea / (ea + eb).clamp_min(1e-12),
                 "all-ones": torch.ones_like(mag)}
        L = b["mix"].shape[1]
        # frame labels as evaluate.py: the frame's centre (frame index × hop) inside the placed interval
        valid = valid_frames(L, mag.shape[2])
        tlab = frame_labels(b, mag.shape[2])[:, :valid].numpy()
        for name, m in masks.items():
            a = acc.setdefault(name, {"timeAuc": [], "tfAuc": [], "siSdrIn": [], "siSdrOut": [], "energyShare": []})
            a["timeAuc"] += [metrics.roc_auc(m[k, :, :valid].mean(0).numpy(), tlab[k]) for k in range(len(pairs))]
            x_in, x_out = istft(m * spec, L), istft((1 - m) * spec, L)
            a["siSdrIn"] += metrics.si_sdr(x_in, b["event"]).tolist()
            a["siSdrOut"] += metrics.si_sdr(x_out, b["bg"]).tolist()
            a["energyShare"] += metrics.energy_share(m, mag, ibm).tolist()
            a["tfAuc"] += [metrics.roc_auc(m[k].flatten().numpy(), ibm[k].flatten().numpy()) for k in range(len(pairs))]
    out = {k: {kk: float(np.nanmean(vv)) for kk, vv in v.items()} for k, v in acc.items()}
    out["pairs"] = len(va)
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
