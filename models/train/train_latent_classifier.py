"""Latent stage 2: train the ESC-50 classifier on the autoencoder's latent Z (frozen encoder).

Folds 1-3 train, fold 4 validation. One CPU core is too slow to encode augmented audio at every
step, so a bank of latents is encoded once (runs/latent-clf/bank.pt): the clean clips plus
cfg.bank_copies copies with waveform augmentation (train_classifier.augment: shift, gain,
background clip/noise mixing, mixup with soft labels). Training then draws from the bank, with
latent-space augmentation: a random circular time shift and latent feature dropout (with
probability cfg.p_drop a random fraction U(0, cfg.max_drop) of the 64 channels x 8 time groups set
to the baseline, so the classifier has seen baseline-filled latents). Also stores the two latent
baselines the explainer uses: "silence" (z of an all-zero window, per channel) and "mean" (the
channel mean over folds 1-3).

    TORCH_THREADS=1 /usr/bin/python3 models/train/train_latent_classifier.py   # runs/latent-clf/
    /usr/bin/python3 models/train/train_latent_classifier.py --smoke   # 1 epoch, 64 clips: a code check
"""
import math
import os
import time
import sys
from dataclasses import asdict, dataclass

import numpy as np
import torch
import torch.nn.functional as F

from common import Logger, cli_help, load_trained, resume, save_epoch, setup, stage_weights
from data import load_esc50
from frontend import FE, magnitude
from latent_model import AEConfig, LatentAE, ZClassifier, ZClassifierConfig, count_params
from train_classifier import augment

GROUPS = 8


@dataclass
class TrainConfig:
    seed: int = 16
    epochs: int = 20
    batch: int = 32
    lr: float = 2e-3
    weight_decay: float = 1e-2
    warmup_epochs: int = 2
    label_smoothing: float = 0.05
    p_mixup: float = 0.4
    mixup_alpha: float = 0.6
    p_background: float = 0.4
    snr_range: tuple = (3.0, 25.0)
    max_shift_s: float = 1.0
    gain_db: float = 6.0
    p_drop: float = 0.5
    max_drop: float = 0.5
    minutes: float = 24.0
    bank_copies: int = 3
    eval_every: int = 3


def group_mask(b, c, t, frac, groups, g):
    """[b, c, t] 0/1 mask: in each row a fraction frac[i] of the c x groups features is 0."""
    scores = torch.rand(b, c * groups, generator=g)
    drop = scores < frac[:, None]
    edges = torch.linspace(0, t, groups + 1).round().long()
    gid = torch.bucketize(torch.arange(t), edges[1:], right=True).clamp_max(groups - 1)
    m = (~drop).float().view(b, c, groups)[:, :, gid]
    return m


@torch.no_grad()
def encode_all(ae, waves, batch=50):
    return torch.cat([ae.encode(magnitude(torch.from_numpy(waves[i:i + batch]))) for i in range(0, len(waves), batch)])


def main():
    cli_help(__doc__)
    cfg = TrainConfig()
    g = setup(cfg.seed, threads=1)
    smoke = "--smoke" in sys.argv[1:]  # 1 epoch on 64 clips into runs/latent-clf-smoke (a code check)
    log = Logger("latent-clf-smoke" if smoke else "latent-clf")
    if smoke:
        cfg.epochs, cfg.bank_copies = 1, 1
    ae, _ = load_trained(stage_weights("latent-ae"), LatentAE, AEConfig, frozen=True)
    ds = load_esc50()
    tr, va = ds.subset([1, 2, 3]), ds.subset([4])
    if smoke:
        tr, va = tr[:64], va[:32]
    xtr, ytr = ds.waves[tr], ds.targets[tr]
    model = ZClassifier(ZClassifierConfig())
    with torch.no_grad():
        ztr = encode_all(ae, xtr)
        zva = encode_all(ae, ds.waves[va])
        silence = ae.encode(torch.zeros(1, FE.freq_bins, FE.frames))[0, :, FE.frames // 2]
        mean = ztr.mean(dim=(0, 2))
        model.zmu.copy_(mean[:, None])
        model.zsd.copy_(ztr.std(dim=(0, 2))[:, None].clamp_min(1e-3))
    baselines = {"silence": silence, "mean": mean}
    bank_path = os.path.join(log.dir, "bank.pt")
    if os.path.exists(bank_path):
        zbank, ybank = torch.load(bank_path)
    else:
        y0 = F.one_hot(torch.from_numpy(ytr), 50).float()
        y0 = y0 * (1 - cfg.label_smoothing) + cfg.label_smoothing / 50
        zs, ys = [ztr], [y0]
        for k in range(cfg.bank_copies):
            for i in range(0, len(tr), 50):
                x, y = augment(torch.from_numpy(xtr[i:i + 50]), y0[i:i + 50], xtr, cfg, g)
                with torch.no_grad():
                    zs.append(ae.encode(magnitude(x)))
                ys.append(y)
            log(event="bank", copies=k + 1)
        zbank, ybank = torch.cat(zs), torch.cat(ys)
        torch.save((zbank, ybank), bank_path)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    spe = math.ceil(len(zbank) / cfg.batch)
    total, warm = cfg.epochs * spe, cfg.warmup_epochs * spe
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / warm) * 0.5 * (1 + math.cos(math.pi * min(1.0, s / total))))
    ckpt = os.path.join(log.dir, "ckpt.pt")
    start, wall = resume(ckpt, model, opt, sched, g)
    log(event="start", epoch=start, params=count_params(model))
    for epoch in range(start, cfg.epochs):
        if wall > cfg.minutes * 60:
            log(event="time budget reached", epoch=epoch)
            break
        t0 = time.time()
        model.train()
        order = torch.randperm(len(zbank), generator=g).numpy()
        tot, n = 0.0, 0
        for i in range(0, len(order), cfg.batch):
            idx = torch.from_numpy(order[i:i + cfg.batch])
            z, y = zbank[idx], ybank[idx]
            b, c, t = z.shape
            shift = torch.randint(0, t, (b,), generator=g)
            z = torch.stack([torch.roll(z[j], int(shift[j]), dims=-1) for j in range(b)])
            frac = torch.rand(b, generator=g) * cfg.max_drop * (torch.rand(b, generator=g) < cfg.p_drop)
            m = group_mask(b, c, t, frac, GROUPS, g)
            z = m * z + (1 - m) * silence[None, :, None]
            loss = -(y * F.log_softmax(model(z), dim=1)).sum(1).mean()
            opt.zero_grad(); loss.backward(); opt.step(); sched.step()
            tot += loss.item() * len(idx); n += len(idx)
        wall += time.time() - t0
        rec = dict(epoch=epoch + 1, loss=round(tot / n, 4), lr=sched.get_last_lr()[0], wall=round(wall, 1))
        model.eval()
        with torch.no_grad():
            acc = float((model(zva).argmax(1).numpy() == ds.targets[va]).mean())
            rec["val_acc"] = round(acc, 4)
        log(**rec)
        save_epoch(ckpt, model, opt, sched, g, epoch + 1, wall, cfg)
        # final.pt = the latest epoch (not the best on fold 4, which is the fold we report)
        torch.save({"model": model.state_dict(), "model_config": asdict(model.cfg), "wall": wall,
                    "epoch": epoch + 1, "val_acc": acc, "baselines": baselines},
                   os.path.join(log.dir, "final.pt"))
    log(event="done", wall=round(wall, 1))


if __name__ == "__main__":
    main()
