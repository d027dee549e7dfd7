"""Stage 2: train the class-conditioned L-MAC mask decoder on the frozen classifier.

    /usr/bin/python3 models/train/train_decoder.py            # resumes from runs/decoder/ckpt.pt

Loss (methods.md, on the linear magnitude): w·(λ_in CE(f(M⊙X), c) − λ_out CE(f((1−M)⊙X), c))
+ (λ_s + λ_u·(1 − w)) mean(M), with c drawn from the classifier's top-k (or uniformly at random) and w = p_c, so
that a class the classifier does not believe in gets only the (stronger) sparsity term: a
near-empty mask. The decoder's mask is also gated by the classifier's own belief p_c (model.py,
MaskDecoder.belief_gate). History of the shipped run: epochs 1-6 without gate and λ_u = 0; epochs
7-9 with λ_u = 6 (mask means for top and unlikely classes were still equal); from epoch 10 on,
resumed from the checkpoint, the belief gate with λ_u = 0 (λ_u alone shrank all masks).
Inputs are 0 dB mixtures with another clip or coloured noise, as in the paper's training.
"""
import math
import os
import time
from dataclasses import asdict, dataclass

import numpy as np
import torch
import torch.nn.functional as F

from common import cli_help, RUNS, Logger, load_trained, resume, save_epoch, save_final, setup
from data import coloured_noise, load_esc50, mix_at_snr, other_class_partners, random_shift
from frontend import FE, magnitude
from model import Classifier, ClassifierConfig, DecoderConfig, MaskDecoder, count_params


@dataclass
class DecoderTrainConfig:
    seed: int = 4321
    epochs: int = 24
    batch: int = 16
    lr: float = 1e-3
    lambda_in: float = 4.0
    lambda_out: float = 0.2
    lambda_sparsity: float = 1.6
    lambda_unlikely: float = 0.0  # extra sparsity weighted by (1 − p_c): empty masks for unlikely classes
    ce_out_cap: float = 8.0  # −CE on the masked-out input is unbounded below: cap its reward
    top_k: int = 3
    p_random_target: float = 0.25
    p_clean: float = 0.2  # share of inputs without 0 dB mixing
    p_noise_partner: float = 0.3  # else another clip of a different class
    max_shift_s: float = 1.0


def load_classifier():
    return load_trained(os.path.join(RUNS, "classifier", "final.pt"), Classifier, ClassifierConfig, frozen=True)[0]


def make_batch(waves, targets, idx, cfg, g):
    """0 dB mixtures (with another clip of a different class, or coloured noise) or clean clips."""
    x = random_shift(torch.from_numpy(waves[idx]), int(cfg.max_shift_s * FE.sample_rate), g)
    b = len(idx)
    partner = other_class_partners(targets, idx, g, step=40)  # ESC-50 sorted by fold/id: 40 clips away
    other = torch.from_numpy(waves[partner])
    noise = coloured_noise(b, x.shape[1], g)
    use_noise = torch.rand(b, 1, generator=g) < cfg.p_noise_partner
    other = torch.where(use_noise, noise, other)
    mixed = mix_at_snr(x, other, torch.zeros(b))
    clean = torch.rand(b, 1, generator=g) < cfg.p_clean
    return torch.where(clean, x, mixed)


def pick_targets(probs, cfg, g):
    """Uniform among the classifier's top-k, or a uniformly random class with p_random_target."""
    b, n = probs.shape
    topk = probs.topk(cfg.top_k, dim=1).indices
    choice = topk[torch.arange(b), torch.randint(0, cfg.top_k, (b,), generator=g)]
    rnd = torch.randint(0, n, (b,), generator=g)
    use_rnd = torch.rand(b, generator=g) < cfg.p_random_target
    return torch.where(use_rnd, rnd, choice)


def lmac_loss(classifier, mag, mask, target, weight, cfg):
    """Per-batch L-MAC loss and its parts (see module doc)."""
    b = mag.shape[0]
    logits, _ = classifier(torch.cat([mask * mag, (1 - mask) * mag]))
    ce_in = F.cross_entropy(logits[:b], target, reduction="none")
    ce_out = F.cross_entropy(logits[b:], target, reduction="none").clamp_max(cfg.ce_out_cap)
    mm = mask.mean(dim=(1, 2))
    sparsity = cfg.lambda_sparsity + cfg.lambda_unlikely * (1 - weight)
    loss = (weight * (cfg.lambda_in * ce_in - cfg.lambda_out * ce_out) + sparsity * mm).mean()
    return loss, ce_in.mean().item(), ce_out.mean().item(), mm


def main():
    cfg = DecoderTrainConfig()
    if os.environ.get("DECODER_EPOCHS"):  # shorten/lengthen a run without editing the config
        cfg.epochs = int(os.environ["DECODER_EPOCHS"])
    g = setup(cfg.seed)
    log = Logger("decoder")
    ds = load_esc50()
    tr, va = ds.subset([1, 2, 3]), ds.subset([4])
    xtr, ytr = ds.waves[tr], ds.targets[tr]
    classifier = load_classifier()
    decoder = MaskDecoder(DecoderConfig())
    decoder.attach_head(classifier)
    opt = torch.optim.Adam(decoder.parameters(), lr=cfg.lr)
    steps = math.ceil(len(tr) / cfg.batch)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: 0.5 * (1 + math.cos(math.pi * min(1.0, s / (cfg.epochs * steps)))))
    ckpt_path = os.path.join(log.dir, "ckpt.pt")
    # checkpoints from before the belief gate lack the head copy: attach_head fills it in
    start, wall = resume(ckpt_path, decoder, opt, sched, g, allowed_missing={"head_w", "head_b"})
    if start:
        decoder.attach_head(classifier)
        log(event="resume", epoch=start)
    else:
        log(event="start", params=count_params(decoder), config=asdict(cfg))
    # a fixed validation batch (fold 4, mixed) to follow mask means for believed vs other classes
    vg = torch.Generator(); vg.manual_seed(99)
    vidx = va[torch.randperm(len(va), generator=vg)[:64].numpy()]
    vx = make_batch(ds.waves, ds.targets, vidx, cfg, vg)
    for epoch in range(start, cfg.epochs):
        t0 = time.time()
        decoder.train()
        order = torch.randperm(len(tr), generator=g).numpy()
        agg = np.zeros(4); n = 0
        for i in range(0, len(order), cfg.batch):
            idx = order[i:i + cfg.batch]
            mag = magnitude(make_batch(xtr, ytr, idx, cfg, g))
            with torch.no_grad():
                logits, hidden = classifier(mag)
                probs = logits.softmax(1)
            target = pick_targets(probs, cfg, g)
            weight = probs.gather(1, target[:, None])[:, 0]
            mask = decoder(*hidden, target)
            loss, ce_in, ce_out, mm = lmac_loss(classifier, mag, mask, target, weight, cfg)
            opt.zero_grad(); loss.backward(); opt.step(); sched.step()
            agg += np.array([loss.item(), ce_in, ce_out, mm.mean().item()]) * len(idx); n += len(idx)
        wall += time.time() - t0
        rec = dict(epoch=epoch + 1, wall=round(wall, 1),
                   **{k: round(float(v), 4) for k, v in zip(["loss", "ce_in", "ce_out", "mask_mean"], agg / n)})
        decoder.eval()
        with torch.no_grad():
            vmag = magnitude(vx)
            vlogits, vh = classifier(vmag)
            vp = vlogits.softmax(1)
            top = vp.argmax(1)
            low = vp.argmin(1)
            rec["val_mm_top"] = round(decoder(*vh, top).mean().item(), 4)
            rec["val_mm_unlikely"] = round(decoder(*vh, low).mean().item(), 4)
            m = decoder(*vh, top)
            q = classifier(m * vmag)[0].softmax(1)
            rec["val_fid_in"] = round((q.argmax(1) == top).float().mean().item(), 4)
        log(**rec)
        save_epoch(ckpt_path, decoder, opt, sched, g, epoch + 1, wall, cfg)
    save_final(log.dir, decoder, wall, cfg)
    log(event="done", wall=round(wall, 1))


if __name__ == "__main__":
    cli_help(__doc__)
    main()
