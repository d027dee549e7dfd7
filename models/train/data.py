"""ESC-50 loading (decoded once to a cache outside git) and waveform augmentation."""
import csv
import os
import subprocess
from dataclasses import dataclass

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_DATA = os.path.normpath(os.path.join(HERE, "..", "..", "..", "shared", "data", "esc50"))
CACHE_DIR = os.path.join(HERE, "cache")


@dataclass
class Esc50:
    waves: np.ndarray  # [N, 80000] float32
    targets: np.ndarray  # [N] int64
    folds: np.ndarray  # [N] int64
    names: list  # file names
    labels: list  # 50 class names, index = target

    def subset(self, folds):
        idx = np.where(np.isin(self.folds, folds))[0]
        return idx


def _decode(path: str, sr: int = 16000, n: int = 80000) -> np.ndarray:
    raw = subprocess.run(["sox", path, "-t", "raw", "-e", "signed", "-b", "16", "-c", "1",
                          "-r", str(sr), "-"], check=True, capture_output=True).stdout
    x = np.frombuffer(raw, dtype="<i2").astype(np.float32) / 32768.0
    out = np.zeros(n, dtype=np.float32)
    out[: min(n, len(x))] = x[:n]
    return out


def load_esc50(data_dir: str = DEFAULT_DATA) -> Esc50:
    """Reads esc50.csv + audio/*.flac; the decoded array is cached in models/train/cache/."""
    data_dir = os.environ.get("ESC50_DIR", data_dir)
    meta = os.path.join(data_dir, "esc50.csv")
    if not os.path.exists(meta):
        raise SystemExit(f"ESC-50 not found at {data_dir} (expected esc50.csv + audio/). "
                         "Set ESC50_DIR or place the data in ../shared/data/esc50.")
    with open(meta) as fh:
        rows = list(csv.DictReader(fh))
    rows.sort(key=lambda r: r["filename"])
    labels = [""] * 50
    for r in rows:
        labels[int(r["target"])] = r["category"]
    os.makedirs(CACHE_DIR, exist_ok=True)
    cache = os.path.join(CACHE_DIR, f"esc50_{len(rows)}.npy")
    if os.path.exists(cache):
        waves = np.load(cache)
    else:
        waves = np.stack([_decode(os.path.join(data_dir, "audio", r["filename"])) for r in rows])
        np.save(cache, waves)
    return Esc50(waves=waves,
                 targets=np.array([int(r["target"]) for r in rows], dtype=np.int64),
                 folds=np.array([int(r["fold"]) for r in rows], dtype=np.int64),
                 names=[r["filename"] for r in rows], labels=labels)


def other_class_partners(targets: np.ndarray, idx: np.ndarray, g: torch.Generator, step: int) -> np.ndarray:
    """A random partner (index into `targets`) per row of idx, moved `step` clips on when it has the row's class."""
    n = len(targets)
    partner = torch.randint(0, n, (len(idx),), generator=g).numpy()
    same = targets[partner] == targets[idx]
    partner[same] = (partner[same] + step) % n
    return partner


def rms(x: torch.Tensor) -> torch.Tensor:
    return x.pow(2).mean(dim=-1, keepdim=True).sqrt().clamp_min(1e-5)


def mix_at_snr(sig: torch.Tensor, other: torch.Tensor, snr_db: torch.Tensor) -> torch.Tensor:
    """sig + other scaled so that 20·log10(rms(sig)/rms(other)) = snr_db (per row)."""
    scale = rms(sig) / (rms(other) * (10.0 ** (snr_db.unsqueeze(-1) / 20.0)))
    return sig + scale * other


def random_shift(x: torch.Tensor, max_shift: int, gen: torch.Generator) -> torch.Tensor:
    """Circular time shift by up to ±max_shift samples, one shift per row."""
    out = torch.empty_like(x)
    shifts = torch.randint(-max_shift, max_shift + 1, (x.shape[0],), generator=gen)
    for i, s in enumerate(shifts.tolist()):
        out[i] = torch.roll(x[i], s)
    return out


def coloured_noise(n: int, length: int, gen: torch.Generator) -> torch.Tensor:
    """White/pink/brown noise rows (random spectral tilt) for noise mixing."""
    white = torch.randn(n, length, generator=gen)
    spec = torch.fft.rfft(white)
    f = torch.arange(spec.shape[-1]).clamp_min(1).float()
    tilt = torch.rand(n, 1, generator=gen) * 2.0  # 0 white .. 2 brown (power slope)
    spec = spec / f.pow(tilt / 2)
    return torch.fft.irfft(spec, n=length)
