"""Latent stage 1: train the STFT autoencoder (latent_model.LatentAE) for reconstruction.

Data: ESC-50 folds 1-3 plus the samples of the Debian package hydrogen-drumkits
(/usr/share/hydrogen/data/drumkits, decoded once to models/train/cache/, never into the repo).
Random 1 s crops; loss = L1 on the normalised log-magnitude + spectral convergence on |X| +
(cfg.mrstft > 0) a multi-resolution STFT loss (nFft 512 / 2048, spectral convergence + log L1) on the
waveform resynthesised with the input's phase. One thread, time budget cfg.minutes, resumable:

    TORCH_THREADS=1 /usr/bin/python3 models/train/train_latent_ae.py     # runs/latent-ae/{ckpt,final}.pt
"""
import glob
import hashlib
import math
import os
import subprocess
import time
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from common import RUNS, Logger, cli_help, resume, save_epoch, save_final, setup
from data import CACHE_DIR, load_esc50
from frontend import FE, istft, stft
from latent_model import AEConfig, LatentAE, LOG_EPS, count_params

DRUMKITS = "/usr/share/hydrogen/data/drumkits"


@dataclass
class TrainConfig:
    seed: int = 15
    steps: int = 3000
    batch: int = 32
    crop: int = 16000  # samples (1 s, 63 frames)
    lr: float = 1e-3
    warmup: int = 100
    p_extra: float = 0.3  # share of crops from the Debian drum samples
    mrstft: float = 0.5
    minutes: float = 24.0  # stop (and save final) after this much training wall time
    ckpt_every: int = 100
    log_every: int = 25


def load_extra(max_seconds_per_file: float = 3.0) -> np.ndarray:
    """hydrogen-drumkits samples at 16 kHz mono, each up to 3 s, concatenated ([] if not installed)."""
    files = sorted(glob.glob(os.path.join(DRUMKITS, "**", "*.wav"), recursive=True) +
                   glob.glob(os.path.join(DRUMKITS, "**", "*.flac"), recursive=True))
    if not files:
        return np.zeros(0, np.float32)
    key = hashlib.sha1("\n".join(files).encode()).hexdigest()[:10]
    cache = os.path.join(CACHE_DIR, f"latent_extra_{key}.npy")
    if os.path.exists(cache):
        return np.load(cache)
    parts = []
    n = int(max_seconds_per_file * FE.sample_rate)
    for f in files:
        try:
            raw = subprocess.run(["sox", f, "-t", "raw", "-e", "signed", "-b", "16", "-c", "1",
                                  "-r", str(FE.sample_rate), "-"], check=True, capture_output=True).stdout
        except subprocess.CalledProcessError:
            continue
        x = np.frombuffer(raw, dtype="<i2").astype(np.float32)[:n] / 32768.0
        if len(x) > 1600 and np.abs(x).max() > 1e-3:
            parts.append(x)
    out = np.concatenate(parts).astype(np.float32)
    os.makedirs(CACHE_DIR, exist_ok=True)
    np.save(cache, out)
    return out


def sc_loss(mag_hat, mag):
    """Spectral convergence over the whole batch (per-example ratios explode on silent crops)."""
    return torch.linalg.norm(mag - mag_hat) / torch.linalg.norm(mag).clamp_min(1e-6)


def mr_stft_loss(y_hat, y, ffts=(512, 2048)):
    loss = 0.0
    for n in ffts:
        w = torch.hann_window(n)
        a = torch.stft(y_hat, n, n // 4, window=w, return_complex=True).abs()
        b = torch.stft(y, n, n // 4, window=w, return_complex=True).abs()
        loss = loss + sc_loss(a, b) + (torch.log(a + LOG_EPS) - torch.log(b + LOG_EPS)).abs().mean()
    return loss / len(ffts)


def ae_losses(model: LatentAE, wave: torch.Tensor, mrstft: float):
    spec = stft(wave)
    mag = spec.abs()
    z = model.encode(mag)
    out = model.decode_norm(z)
    l1 = (out - model.norm_log(mag)).abs().mean()
    mag_hat = F.relu(torch.exp(out * model.sigma + model.mu) - LOG_EPS)
    sc = sc_loss(mag_hat, mag)
    total = l1 + sc
    mr = torch.zeros(())
    if mrstft > 0:
        phase = spec / mag.clamp_min(1e-8)
        y_hat = istft(mag_hat * phase, wave.shape[-1])
        mr = mr_stft_loss(y_hat, wave)
        total = total + mrstft * mr
    return total, l1, sc, mr


def crops(pool_esc, extra, cfg: TrainConfig, g: torch.Generator) -> torch.Tensor:
    b = cfg.batch
    n_extra = int(round(b * cfg.p_extra)) if len(extra) > cfg.crop else 0
    out = []
    ci = torch.randint(0, len(pool_esc), (b - n_extra,), generator=g)
    off = torch.randint(0, pool_esc.shape[1] - cfg.crop, (b - n_extra,), generator=g)
    for i, o in zip(ci.tolist(), off.tolist()):
        out.append(pool_esc[i, o:o + cfg.crop])
    eo = torch.randint(0, max(1, len(extra) - cfg.crop), (n_extra,), generator=g)
    for o in eo.tolist():
        out.append(extra[o:o + cfg.crop])
    x = torch.from_numpy(np.stack(out))
    gain = 10 ** ((torch.rand(b, 1, generator=g) * 12 - 6) / 20)  # ±6 dB
    return x * gain


def set_norm_stats(model: LatentAE, waves: np.ndarray):
    with torch.no_grad():
        lm = torch.log(stft(torch.from_numpy(waves)).abs() + LOG_EPS)  # [N, F, T]
        model.mu.copy_(lm.mean(dim=(0, 2))[:, None])
        model.sigma.copy_(lm.std(dim=(0, 2))[:, None].clamp_min(1e-3))


def main():
    cli_help(__doc__)
    cfg = TrainConfig()
    g = setup(cfg.seed, threads=1)
    data = load_esc50()
    tr = data.subset([1, 2, 3])
    pool = data.waves[tr]
    extra = load_extra()
    log = Logger("latent-ae")
    log(event="data", esc50_clips=len(tr), extra_seconds=round(len(extra) / FE.sample_rate, 1))
    model = LatentAE(AEConfig())
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / cfg.warmup) * 0.5 * (1 + math.cos(math.pi * min(s, cfg.steps) / cfg.steps)))
    ckpt = os.path.join(log.dir, "ckpt.pt")
    step, wall = resume(ckpt, model, opt, sched, g)
    if step == 0:
        rng = np.random.default_rng(0)
        set_norm_stats(model, pool[rng.choice(len(pool), 200, replace=False)])
    log(event="start", step=step, wall=wall, params=count_params(model))
    t0 = time.time() - wall
    model.train()
    acc = np.zeros(4)
    while step < cfg.steps and (time.time() - t0) < cfg.minutes * 60:
        x = crops(pool, extra, cfg, g)
        total, l1, sc, mr = ae_losses(model, x, cfg.mrstft)
        opt.zero_grad()
        total.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        # cosine decay over whichever runs out first, the steps or the time budget (the machine is shared)
        frac = max(step / cfg.steps, (time.time() - t0) / (cfg.minutes * 60))
        lr_now = cfg.lr * min(1.0, (step + 1) / cfg.warmup) * 0.5 * (1 + math.cos(math.pi * min(1.0, frac)))
        for grp in opt.param_groups:
            grp["lr"] = lr_now
        opt.step(); sched.step(); step += 1
        acc += [total.item(), l1.item(), sc.item(), float(mr)]
        if step % cfg.log_every == 0:
            a = acc / cfg.log_every; acc[:] = 0
            log(step=step, loss=round(a[0], 4), l1=round(a[1], 4), sc=round(a[2], 4), mr=round(a[3], 4),
                lr=lr_now, wall=round(time.time() - t0, 1))
        if step % cfg.ckpt_every == 0:
            save_epoch(ckpt, model, opt, sched, g, step, time.time() - t0, cfg)
    save_epoch(ckpt, model, opt, sched, g, step, time.time() - t0, cfg)
    save_final(log.dir, model, time.time() - t0, cfg)
    log(event="done", step=step, wall=round(time.time() - t0, 1))


if __name__ == "__main__":
    main()
