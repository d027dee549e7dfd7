"""A fixed pool of placed-event mixtures with the frozen classifier's outputs, built once (issue 13).

    /usr/bin/python3 models/train/placed_cache.py [--n 3000] [--seed 4242] [--snr-lo -6] [--snr-hi 6] [--check 8]

Guidance steps of finetune_decoder.py (BCE + TV + sparsity) need only what MaskDecoder.decode and
belief_gate read, h1..h4, and the source-bin targets: with this pool they skip the placement, the
STFTs and the classifier's forward pass. Each entry is one mixture from folds 1-3 (placed.py: the
energetic part of a clip of class A placed into a clip of class B at an SNR drawn uniformly from
[snr_lo, snr_hi]) with

    h1..h4    the classifier's hidden outputs on |X| (float16)
    mag       |X| of the mixture [F, T] (float16; for L-MAC / completeness terms on cached mixtures)
    ta, tb    1[|A| > |B|] and 1[|B| > |A|] per bin, bit-packed (np.packbits over the flattened [F, T])
    logits    the classifier's logits on the mixture (float32)
    target_a, target_b, pair (clip indices), snr, off

Stored as one .npy per array in models/train/cache/placed_<key>/ (git-ignored, shared), opened
memory-mapped; key = hash of (n, seed, SNR range, the classifier's final.pt bytes). The folder is
written under a temporary name and renamed when complete, so a half-built pool is never read.
About 0.81 MB per mixture (h1 alone 240 KB, mag 321 KB): 3000 mixtures = 2.4 GB on disk.
"""
import hashlib
import os
import shutil
import sys
import time

import numpy as np
import torch

from common import RUNS, cli_help
from data import CACHE_DIR
from frontend import FE, stft
from placed import placed_batch, source_bins

ARRAYS = ("h1", "h2", "h3", "h4", "mag", "ta", "tb", "logits", "target_a", "target_b", "pair", "snr", "off")


def pool_key(n: int, seed: int, snr_lo: float, snr_hi: float) -> str:
    h = hashlib.sha256(f"{n}|{seed}|{snr_lo}|{snr_hi}|{FE}".encode())
    with open(os.path.join(RUNS, "classifier", "final.pt"), "rb") as fh:
        h.update(fh.read())
    return h.hexdigest()[:10]


def pool_dir(n, seed, snr_lo, snr_hi) -> str:
    return os.path.join(CACHE_DIR, f"placed_{pool_key(n, seed, snr_lo, snr_hi)}")


class PlacedPool:
    """The memory-mapped pool; batch(idx) returns tensors for the given mixture indices."""

    def __init__(self, path: str):
        self.path = path
        self.a = {k: np.load(os.path.join(path, k + ".npy"), mmap_mode="r") for k in ARRAYS}
        self.n = len(self.a["target_a"])
        self.shape = (FE.freq_bins, FE.frames)

    def _bits(self, k, idx):
        nb = self.shape[0] * self.shape[1]
        b = np.unpackbits(self.a[k][idx], axis=1, count=nb)
        return torch.from_numpy(b.reshape(len(idx), *self.shape).astype(np.float32))

    def batch(self, idx, with_mag: bool = False):
        idx = np.sort(np.asarray(idx))  # sequential reads of the memory map
        f = lambda k: torch.from_numpy(np.ascontiguousarray(self.a[k][idx]).astype(np.float32))
        out = {"hidden": [f(f"h{i}") for i in (1, 2, 3, 4)], "ta": self._bits("ta", idx), "tb": self._bits("tb", idx),
               "logits": torch.from_numpy(np.asarray(self.a["logits"][idx])),
               "target_a": torch.from_numpy(np.asarray(self.a["target_a"][idx])),
               "target_b": torch.from_numpy(np.asarray(self.a["target_b"][idx]))}
        if with_mag:
            out["mag"] = f("mag")
        return out


def build_pool(classifier, waves, targets, idx, n, seed, snr_lo, snr_hi, log=None, chunk=16) -> PlacedPool:
    """Builds (or reuses) the pool of n mixtures from the clips idx (folds 1-3)."""
    from finetune_decoder import sample_pairs  # the same pair rule as the training's fresh mixtures
    log = log or (lambda **kv: print(kv, flush=True))
    path = pool_dir(n, seed, snr_lo, snr_hi)
    if os.path.isdir(path):
        pool = PlacedPool(path)
        log(event="placed_pool", path=path, n=pool.n, built=False)
        return pool
    os.makedirs(CACHE_DIR, exist_ok=True)
    tmp = f"{path}.tmp{os.getpid()}"
    os.makedirs(tmp)
    rng = np.random.default_rng(seed)
    pairs = sample_pairs(targets, idx, n, rng)
    snrs = rng.uniform(snr_lo, snr_hi, n)
    nb = (FE.freq_bins * FE.frames + 7) // 8
    with torch.no_grad():
        _, hid = classifier(torch.zeros(1, FE.freq_bins, FE.frames))
    shapes = {**{f"h{i + 1}": (tuple(h.shape[1:]), np.float16) for i, h in enumerate(hid)},
              "mag": ((FE.freq_bins, FE.frames), np.float16), "ta": ((nb,), np.uint8), "tb": ((nb,), np.uint8),
              "logits": ((classifier.fc.out_features,), np.float32), "target_a": ((), np.int64),
              "target_b": ((), np.int64), "pair": ((2,), np.int64), "snr": ((), np.float32), "off": ((), np.int64)}
    mm = {k: np.lib.format.open_memmap(os.path.join(tmp, k + ".npy"), mode="w+", dtype=dt, shape=(n, *s))
          for k, (s, dt) in shapes.items()}
    t0 = time.time()
    for s in range(0, n, chunk):
        pc = pairs[s:s + chunk]
        b = placed_batch(waves, targets, pc, snrs[s:s + chunk], rng)
        mag = stft(b["mix"]).abs()
        ta, ea, eb = source_bins(b["event"], b["bg"])
        tb = (eb > ea).float()
        with torch.no_grad():
            logits, hidden = classifier(mag)
        e = s + len(pc)
        for i, h in enumerate(hidden):
            mm[f"h{i + 1}"][s:e] = h.numpy().astype(np.float16)
        mm["mag"][s:e] = mag.numpy().astype(np.float16)
        mm["ta"][s:e] = np.packbits(ta.numpy().astype(np.uint8).reshape(len(pc), -1), axis=1)
        mm["tb"][s:e] = np.packbits(tb.numpy().astype(np.uint8).reshape(len(pc), -1), axis=1)
        mm["logits"][s:e] = logits.numpy()
        mm["target_a"][s:e] = b["target_a"].numpy()
        mm["target_b"][s:e] = b["target_b"].numpy()
        mm["pair"][s:e] = np.array(pc)
        mm["snr"][s:e] = snrs[s:s + chunk]
        mm["off"][s:e] = b["off"].numpy()
        if (s // chunk) % 25 == 0:
            log(event="placed_pool_build", done=e, of=n, seconds=round(time.time() - t0, 1))
    for a in mm.values():
        a.flush()
    del mm
    try:
        os.rename(tmp, path)
    except OSError:  # another process finished the same pool first
        shutil.rmtree(tmp, ignore_errors=True)
    log(event="placed_pool", path=path, n=n, built=True, seconds=round(time.time() - t0, 1))
    return PlacedPool(path)


def check_pool(pool: PlacedPool, classifier, waves, targets, k: int = 8, log=print):
    """Recomputes k entries from their stored (pair, snr, off) and reports the largest differences
    (float16 rounding of h1..h4 and |X|), the share of target bins that differ (where |A| ≈ |B| a
    batched STFT's last bit can flip 1[|A| > |B|]) and whether the class labels match."""
    from placed import energetic_part, rms
    idx = np.linspace(0, pool.n - 1, k).astype(int)
    b = pool.batch(idx, with_mag=True)
    mix, ev, bg = [], [], []
    for e in idx:
        i, j = (int(x) for x in pool.a["pair"][e])
        s, t = energetic_part(waves[i], min(FE.window_samples // 2, len(waves[j]) // 2))
        g = rms(waves[j]) * 10 ** (float(pool.a["snr"][e]) / 20) / rms(waves[i][s:t])
        p = np.zeros(len(waves[j]), np.float32)
        o = int(pool.a["off"][e])
        p[o:o + t - s] = g * waves[i][s:t]
        mix.append(waves[j] + p); ev.append(p); bg.append(waves[j])
    t = lambda a: torch.from_numpy(np.stack(a).astype(np.float32))
    mag = stft(t(mix)).abs()
    ta, ea, eb = source_bins(t(ev), t(bg))
    with torch.no_grad():
        logits, hidden = classifier(mag)
    out = {"entries": k, "mag_rel": float((b["mag"] - mag).abs().max() / mag.abs().max()),
           **{f"h{i + 1}_abs": float((b["hidden"][i] - h).abs().max()) for i, h in enumerate(hidden)},
           "logits_abs": float((b["logits"] - logits).abs().max()),
           "targets_differ": float(((b["ta"] != ta).float().mean() + (b["tb"] != (eb > ea).float()).float().mean()) / 2),
           "labels_equal": bool((b["target_a"].numpy() == targets[pool.a["pair"][idx, 0]]).all()
                                and (b["target_b"].numpy() == targets[pool.a["pair"][idx, 1]]).all())}
    log(**out)
    return out


def main():
    args = dict(n=3000, seed=4242, snr_lo=-6.0, snr_hi=6.0, check=0)
    it = iter(sys.argv[1:])
    for a in it:
        k, _, v = a.lstrip("-").partition("=")
        k = k.replace("-", "_")
        if k not in args:
            raise SystemExit(f"unknown option --{k}; options: {', '.join(args)}")
        args[k] = type(args[k])(v or next(it))
    from common import setup
    from data import load_esc50
    from finetune_decoder import load_classifier
    setup(1, threads=1)
    ds = load_esc50()
    check = args.pop("check")
    classifier = load_classifier()
    pool = build_pool(classifier, ds.waves, ds.targets, ds.subset([1, 2, 3]), **args)
    if check:
        r = check_pool(pool, classifier, ds.waves, ds.targets, check, log=lambda **kv: print(kv, flush=True))
        if not (r["targets_differ"] < 1e-3 and r["labels_equal"] and r["mag_rel"] < 1e-3 and max(r[f"h{i}_abs"] for i in (1, 2, 3, 4)) < 1e-2):
            raise SystemExit("pool check failed")


if __name__ == "__main__":
    cli_help(__doc__, "  --n (default 3000)\n  --seed (default 4242)\n  --snr-lo (default -6.0)\n  --snr-hi (default 6.0)\n"
                      "  --check K (default 0): recompute K entries and compare (float16 rounding; exits 1 on a mismatch)")
    main()
