"""Zero-shot stage 1: the audio–text model (CLAP-style, contrastive) on ESC-50 folds 1-3 with the
10 classes of captions.HELD_OUT removed entirely (no clip, no caption).

    /usr/bin/python3 models/train/train_zs.py            # resumes from runs/zs_encoder/ckpt.pt

Each batch: clips (shifted, gain, sometimes coloured noise) and, with p_mix, two-source mixtures of
clips of different classes captioned with both; captions from class phrases × templates
(captions.py), pooled with the shipped GloVe vocabulary. Loss: symmetric in-batch InfoNCE
(captions with the same class set are all positives) + cross-entropy of each clip against one
random caption of every training class (soft targets for mixtures).
Validation (fold 4): 50-class prompt accuracy (prompt = class name), zero-shot accuracy on the
held-out classes (10-way, prompts = their names), and 40-way accuracy on the seen classes.
"""
import math
import os
import random
import time
from dataclasses import asdict, dataclass

import numpy as np
import torch
import torch.nn.functional as F

from captions import HELD_OUT, PHRASES, Vocab, caption, class_prompt, mix_caption
from common import cli_help, Logger, resume, save_epoch, save_final, setup
from data import coloured_noise, load_esc50, mix_at_snr, other_class_partners, random_shift
from frontend import FE, magnitude
from model import AudioTextConfig, AudioTextModel, count_params


@dataclass
class ZsTrainConfig:
    seed: int = 2024
    epochs: int = 40
    batch: int = 32
    lr: float = 2e-3
    weight_decay: float = 1e-2
    warmup_epochs: int = 2
    p_mix: float = 0.35
    mix_snr: tuple = (-5.0, 5.0)
    p_noise: float = 0.3
    noise_snr: tuple = (5.0, 25.0)
    max_shift_s: float = 1.0
    gain_db: float = 6.0
    w_proto: float = 1.0
    # optional: keep the projector's cosine geometry on random vocabulary words close to GloVe's
    # (words of the held-out classes' phrases excluded); 0 = off (the shipped run)
    w_geo: float = 0.0
    geo_words: int = 256
    geo_vocab: int = 20000
    eval_every: int = 2


def text_batch(model, vocab, texts):
    pooled = torch.from_numpy(np.stack([vocab.pool(t) for t in texts]))
    return model.text(pooled)


@torch.no_grad()
def evaluate(model, vocab, waves, targets, labels, held):
    """Prompt accuracies on fold 4: all 50 classes, held-out (10-way), seen (40-way)."""
    model.eval()
    t = text_batch(model, vocab, [class_prompt(l) for l in labels])
    za = torch.cat([model.embed_audio(magnitude(torch.from_numpy(waves[i:i + 64])))[0]
                    for i in range(0, len(waves), 64)])
    sim = za @ t.T
    held_idx = torch.tensor(sorted(held))
    seen_idx = torch.tensor([c for c in range(len(labels)) if c not in held])
    tg = torch.from_numpy(targets)
    is_held = torch.isin(tg, held_idx)
    out = {"acc50": (sim.argmax(1) == tg).float().mean().item()}
    sh = sim[is_held][:, held_idx]
    out["zs_acc_held10"] = (held_idx[sh.argmax(1)] == tg[is_held]).float().mean().item()
    ss = sim[~is_held][:, seen_idx]
    out["acc_seen40"] = (seen_idx[ss.argmax(1)] == tg[~is_held]).float().mean().item()
    model.train()
    return {k: round(v, 4) for k, v in out.items()}


def make_batch(waves, targets, idx, cfg, g, rng, labels):
    """Augmented waveforms, captions and class sets (frozensets) for one batch."""
    x = random_shift(torch.from_numpy(waves[idx]), int(cfg.max_shift_s * FE.sample_rate), g)
    b = len(idx)
    partner = other_class_partners(targets, idx, g, step=24)
    same = targets[partner] == targets[idx]  # still the same class after the step: no mixture
    do_mix = (torch.rand(b, generator=g) < cfg.p_mix) & ~torch.from_numpy(same)
    snr = cfg.mix_snr[0] + torch.rand(b, generator=g) * (cfg.mix_snr[1] - cfg.mix_snr[0])
    other = random_shift(torch.from_numpy(waves[partner]), int(cfg.max_shift_s * FE.sample_rate), g)
    x = torch.where(do_mix[:, None], mix_at_snr(x, other, snr), x)
    nsnr = cfg.noise_snr[0] + torch.rand(b, generator=g) * (cfg.noise_snr[1] - cfg.noise_snr[0])
    with_noise = torch.rand(b, 1, generator=g) < cfg.p_noise
    x = torch.where(with_noise, mix_at_snr(x, coloured_noise(b, x.shape[1], g), nsnr), x)
    x = x * 10 ** ((torch.rand(b, 1, generator=g) * 2 - 1) * cfg.gain_db / 20)
    caps, sets = [], []
    for i in range(b):
        a = int(targets[idx[i]])
        if do_mix[i]:
            p = int(targets[partner[i]])
            caps.append(mix_caption(labels, a, p, rng)); sets.append(frozenset([a, p]))
        else:
            caps.append(caption(labels, a, rng)); sets.append(frozenset([a]))
    return x, caps, sets


def held_out_split(ds):
    """(held-out class indices, seen class indices, training clips of seen classes in folds 1-3, fold-4 clips)."""
    held = {ds.labels.index(h) for h in HELD_OUT}
    seen = [c for c in range(50) if c not in held]
    tr = np.array([i for i in ds.subset([1, 2, 3]) if ds.targets[i] not in held])
    return held, seen, tr, ds.subset([4])


def main():
    cfg = ZsTrainConfig()
    if os.environ.get("ZS_EPOCHS"):
        cfg.epochs = int(os.environ["ZS_EPOCHS"])
    if os.environ.get("ZS_GEO"):
        cfg.w_geo = float(os.environ["ZS_GEO"])
    g = setup(cfg.seed)
    rng = random.Random(cfg.seed)
    log = Logger(os.environ.get("ZS_STAGE", "zs_encoder"))
    ds = load_esc50()
    vocab = Vocab()
    labels = ds.labels
    held, seen, tr, va = held_out_split(ds)
    xtr, ytr = ds.waves[tr], ds.targets[tr]
    model = AudioTextModel(AudioTextConfig())
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    steps = math.ceil(len(tr) / cfg.batch)
    total, warm = cfg.epochs * steps, cfg.warmup_epochs * steps
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / warm) * 0.5 * (1 + math.cos(math.pi * min(1.0, s / total))))
    ckpt_path = os.path.join(log.dir, "ckpt.pt")
    start, wall = resume(ckpt_path, model, opt, sched, g)
    if start:
        log(event="resume", epoch=start)
        rng.seed(cfg.seed + start)
    else:
        log(event="start", params=count_params(model), train_clips=len(tr), held_out=HELD_OUT,
            config=asdict(cfg))
    seen_t = torch.tensor(seen)
    held_words = {w for h in HELD_OUT for p in PHRASES[h] for w in vocab.tokens(p)}
    geo_pool = np.array([i for i, w in enumerate(vocab.words[:cfg.geo_vocab]) if w not in held_words])
    geo_vecs = torch.from_numpy(vocab.vectors)
    for epoch in range(start, cfg.epochs):
        t0 = time.time()
        model.train()
        order = torch.randperm(len(tr), generator=g).numpy()
        agg = np.zeros(3); n = 0
        for i in range(0, len(order), cfg.batch):
            idx = order[i:i + cfg.batch]
            x, caps, sets = make_batch(xtr, ytr, idx, cfg, g, rng, labels)
            za, _ = model.embed_audio(magnitude(x), augment=True)
            zt = text_batch(model, vocab, caps)
            s = model.scale()
            logits = s * za @ zt.T
            pos = torch.tensor([[float(a == b) for b in sets] for a in sets])
            tgt = pos / pos.sum(1, keepdim=True)
            l_clip = 0.5 * (-(tgt * F.log_softmax(logits, 1)).sum(1).mean()
                            - (tgt * F.log_softmax(logits.T, 1)).sum(1).mean())
            protos = text_batch(model, vocab, [caption(labels, c, rng) for c in seen])
            plog = s * za @ protos.T
            soft = torch.zeros(len(idx), len(seen))
            for r, st in enumerate(sets):
                for c in st:
                    soft[r, (seen_t == c).nonzero()[0, 0]] = 1.0 / len(st)
            l_proto = -(soft * F.log_softmax(plog, 1)).sum(1).mean()
            loss = l_clip + cfg.w_proto * l_proto
            if cfg.w_geo > 0:
                pick = torch.from_numpy(geo_pool[torch.randint(0, len(geo_pool), (cfg.geo_words,), generator=g).numpy()])
                x = F.normalize(geo_vecs[pick], dim=1)
                zt_w = model.text(x)
                loss = loss + cfg.w_geo * (zt_w @ zt_w.T - x @ x.T).pow(2).mean()
            opt.zero_grad(); loss.backward(); opt.step(); sched.step()
            agg += np.array([loss.item(), l_clip.item(), l_proto.item()]) * len(idx); n += len(idx)
        wall += time.time() - t0
        rec = dict(epoch=epoch + 1, wall=round(wall, 1), scale=round(model.scale().item(), 2),
                   **{k: round(float(v), 4) for k, v in zip(["loss", "clip", "proto"], agg / n)})
        if (epoch + 1) % cfg.eval_every == 0 or epoch + 1 == cfg.epochs:
            rec.update(evaluate(model, vocab, ds.waves[va], ds.targets[va], labels, held))
        log(**rec)
        save_epoch(ckpt_path, model, opt, sched, g, epoch + 1, wall, cfg)
    save_final(log.dir, model, wall, cfg)
    log(event="done", wall=round(wall, 1))


if __name__ == "__main__":
    cli_help(__doc__)
    main()
