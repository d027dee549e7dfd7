"""Stage 1: train the ESC-50 classifier from scratch (folds 1-3 train, fold 4 validation).

    /usr/bin/python3 models/train/train_classifier.py            # resumes from runs/classifier/ckpt.pt
"""
import math
import os
import time
from dataclasses import asdict, dataclass

import numpy as np
import torch
import torch.nn.functional as F

from common import cli_help, Logger, predict, resume, save_epoch, save_final, setup
from data import coloured_noise, load_esc50, mix_at_snr, random_shift, rms
from frontend import FE, magnitude
from model import Classifier, ClassifierConfig, count_params


@dataclass
class TrainConfig:
    seed: int = 1234
    epochs: int = 60
    batch: int = 32
    lr: float = 2e-3
    weight_decay: float = 1e-2
    warmup_epochs: int = 3
    label_smoothing: float = 0.05
    p_mixup: float = 0.5  # mix two clips (equal RMS, ratio lam ~ Beta) with soft labels
    mixup_alpha: float = 0.6
    p_background: float = 0.4  # add another clip or coloured noise at snr_range, label kept
    snr_range: tuple = (3.0, 25.0)
    max_shift_s: float = 1.0
    gain_db: float = 6.0
    eval_every: int = 3


def augment(x, y, pool, cfg: TrainConfig, g: torch.Generator):
    """Waveform augmentation on a batch: shift, gain, background mixing, mixup (soft labels)."""
    b = x.shape[0]
    x = random_shift(x, int(cfg.max_shift_s * FE.sample_rate), g)
    # background: another training clip (any class) or coloured noise, label unchanged
    bg_idx = torch.randint(0, len(pool), (b,), generator=g)
    bg = torch.from_numpy(pool[bg_idx.numpy()])
    noise = coloured_noise(b, x.shape[1], g)
    use_noise = torch.rand(b, 1, generator=g) < 0.5
    bg = torch.where(use_noise, noise, bg)
    snr = cfg.snr_range[0] + torch.rand(b, generator=g) * (cfg.snr_range[1] - cfg.snr_range[0])
    with_bg = (torch.rand(b, 1, generator=g) < cfg.p_background)
    x = torch.where(with_bg, mix_at_snr(x, bg, snr), x)
    # mixup with a permuted partner, both at equal RMS
    perm = torch.randperm(b, generator=g)
    lam = torch.distributions.Beta(cfg.mixup_alpha, cfg.mixup_alpha).sample((b,))
    lam = torch.maximum(lam, 1 - lam)  # the first clip stays dominant
    do_mix = (torch.rand(b, generator=g) < cfg.p_mixup).float()
    lam = 1 - do_mix * (1 - lam)
    xn = x / rms(x)
    mixed = lam[:, None] * xn + (1 - lam[:, None]) * xn[perm]
    x = torch.where(do_mix[:, None] > 0, mixed * rms(x), x)
    y = lam[:, None] * y + (1 - lam[:, None]) * y[perm]
    gain = 10 ** ((torch.rand(b, 1, generator=g) * 2 - 1) * cfg.gain_db / 20)
    return x * gain, y


def main():
    cfg = TrainConfig()
    g = setup(cfg.seed)
    log = Logger("classifier")
    ds = load_esc50()
    tr, va = ds.subset([1, 2, 3]), ds.subset([4])
    xtr, ytr = ds.waves[tr], ds.targets[tr]
    model = Classifier(ClassifierConfig())
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    steps_per_epoch = math.ceil(len(tr) / cfg.batch)
    total = cfg.epochs * steps_per_epoch
    warm = cfg.warmup_epochs * steps_per_epoch
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / warm) * 0.5 * (1 + math.cos(math.pi * min(1.0, s / total))))
    ckpt_path = os.path.join(log.dir, "ckpt.pt")
    start, wall = resume(ckpt_path, model, opt, sched, g)
    if start:
        log(event="resume", epoch=start)
    else:
        log(event="start", params=count_params(model), config=asdict(cfg))
    for epoch in range(start, cfg.epochs):
        t0 = time.time()
        model.train()
        order = torch.randperm(len(tr), generator=g).numpy()
        tot, n = 0.0, 0
        for i in range(0, len(order), cfg.batch):
            idx = order[i:i + cfg.batch]
            x = torch.from_numpy(xtr[idx])
            y = F.one_hot(torch.from_numpy(ytr[idx]), 50).float()
            y = y * (1 - cfg.label_smoothing) + cfg.label_smoothing / 50
            x, y = augment(x, y, xtr, cfg, g)
            logits, _ = model(magnitude(x), augment=True)
            loss = -(y * F.log_softmax(logits, dim=1)).sum(1).mean()
            opt.zero_grad(); loss.backward(); opt.step(); sched.step()
            tot += loss.item() * len(idx); n += len(idx)
        wall += time.time() - t0
        rec = dict(epoch=epoch + 1, loss=round(tot / n, 4), lr=sched.get_last_lr()[0], wall=round(wall, 1))
        if (epoch + 1) % cfg.eval_every == 0 or epoch + 1 == cfg.epochs:
            pred = predict(model, ds.waves[va]).argmax(1).numpy()
            rec["val_acc"] = round(float((pred == ds.targets[va]).mean()), 4)
        log(**rec)
        save_epoch(ckpt_path, model, opt, sched, g, epoch + 1, wall, cfg)
    save_final(log.dir, model, wall, cfg)
    log(event="done", wall=round(wall, 1))


if __name__ == "__main__":
    cli_help(__doc__)
    main()
