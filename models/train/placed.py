"""Placed-event mixtures (an event of class A placed into a clip of class B) with their known
time-frequency ground truth (the listenability metrics on them are in metrics.py).

The placement is the one `npm run bench:explain` uses (bench/explain.ts, src/core/groundTruth.ts):
the energetic part of A (20 ms frames within 20 dB of the loudest, at most half a window), placed
at an offset into B, scaled so that rms(event over its own length) / rms(whole B) = the SNR.
A's bins are where |STFT(placed A)| > |STFT(B)|.
"""
import numpy as np
import torch

from frontend import FE, istft, stft


def energetic_part(x: np.ndarray, max_len: int, drop_db: float = 20.0, sr: int = FE.sample_rate):
    """[start, end) samples, as groundTruth.energeticPart."""
    fl = max(1, round(0.02 * sr))
    nf = max(1, len(x) // fl)
    e = (x[: nf * fl].astype(np.float64).reshape(nf, fl) ** 2).sum(1)
    thr = e.max() * 10 ** (-drop_db / 10)
    above = np.where(e >= thr)[0]
    a, b = (int(above[0]), int(above[-1])) if len(above) else (0, nf - 1)
    start, end = a * fl, min(len(x), (b + 1) * fl)
    if end - start > max_len:
        k = max(1, max_len // fl)
        c = np.concatenate([[0.0], np.cumsum(e[a:b + 1])])
        runs = c[k:] - c[:-k]
        best = a + int(np.argmax(runs)) if len(runs) else a
        start = best * fl
        end = min(len(x), start + max_len)
    return start, end


def rms(x: np.ndarray) -> float:
    return max(float(np.sqrt(np.mean(x.astype(np.float64) ** 2))), 1e-5)


def place(event_clip: np.ndarray, background: np.ndarray, snr_db: float, u: float):
    """(mixture, placed event alone, offset, length); u in [0, 1) picks the offset."""
    L = len(background)
    s, e = energetic_part(event_clip, min(FE.window_samples // 2, L // 2))
    ev = event_clip[s:e]
    off = int(np.floor(u * (L - len(ev) + 1)))
    g = rms(background) * 10 ** (snr_db / 20) / rms(ev)
    placed = np.zeros(L, dtype=np.float32)
    placed[off:off + len(ev)] = g * ev
    return (background + placed).astype(np.float32), placed, off, len(ev)


def placed_batch(waves, targets, pairs, snr_db, rng: np.random.Generator):
    """pairs: [(i_event, i_background)]. Returns dict of tensors: mix [B, N], event [B, N], bg [B, N],
    off [B], len [B], target_a [B], target_b [B]."""
    mix, ev, bg, off, ln = [], [], [], [], []
    snrs = np.broadcast_to(np.asarray(snr_db, dtype=np.float64), (len(pairs),))
    for (i, j), snr in zip(pairs, snrs):
        m, p, o, n = place(waves[i], waves[j], float(snr), rng.random())
        mix.append(m); ev.append(p); bg.append(waves[j]); off.append(o); ln.append(n)
    t = lambda a: torch.from_numpy(np.stack(a))
    return {"mix": t(mix), "event": t(ev), "bg": t(bg), "off": torch.tensor(off), "len": torch.tensor(ln),
            "target_a": torch.from_numpy(targets[[i for i, _ in pairs]]),
            "target_b": torch.from_numpy(targets[[j for _, j in pairs]])}


def source_bins(event: torch.Tensor, bg: torch.Tensor):
    """(|STFT(event)| > |STFT(bg)|) as float [B, F, T], plus both magnitudes."""
    ea, eb = stft(event).abs(), stft(bg).abs()
    return (ea > eb).float(), ea, eb


def explanation_audio(mask: torch.Tensor, spec: torch.Tensor, length: int):
    """(x_in, x_out) = ISTFT(M⊙X), ISTFT((1−M)⊙X)."""
    return istft(mask * spec, length), istft((1 - mask) * spec, length)


def valid_frames(length, n_frames, hop=FE.hop_length):
    """Frames of an n_frames STFT whose centre (t × hop) lies inside a signal of `length` samples (the time-AUC range)."""
    return min(n_frames, (length - 1) // hop + 1)


def frame_labels(b, n_frames, hop=FE.hop_length):
    """[B, n_frames] bool: frame t's centre (t × hop) inside the placed interval of placed_batch's `b` (the
    time-AUC labels of evaluate.py, oracle_masks.py and finetune_decoder.py); frames past the mixture's end are False."""
    L = b["mix"].shape[1]
    frames = torch.arange(n_frames) * hop
    inside = (frames[None] >= b["off"][:, None]) & (frames[None] < (b["off"] + b["len"])[:, None])
    return inside & (torch.arange(n_frames) < valid_frames(L, n_frames, hop))[None]
