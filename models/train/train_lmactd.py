"""Train the LMAC-TD time-domain explanation decoder (issue 14) on the frozen ESC-50 classifier.

    nohup /usr/bin/python3 models/train/train_lmactd.py > models/train/runs/lmactd.log 2>&1 &
    # resumes from runs/lmactd/ckpt.pt; stops for good once the wall-time budget is spent

Loss (methods.md L-MAC loss, evaluated through the classifier on the STFT magnitudes of the
time-domain explanation x_in = dec(M ⊙ enc(x)) and residual x_out = x − x_in):
    w·(λ_in CE(f(|X_in|), c) − λ_out min(CE(f(|X_out|), c), cap))
    + (λ_s + λ_u(1 − w))·mean(M) + λ_e·‖x_in‖²/‖x‖² + λ_rec·‖dec(enc(x)) − x‖²/‖x‖²
with w = p_c. The last term keeps the learned encoder/decoder an (almost) perfect
analysis/synthesis pair, so that the explanation and the residual are the masked-in and
masked-out parts of the input (and a mask of ones gives the input back). Inputs, target sampling
(top-k or uniform) and the belief gate are those of train_decoder.py. Step-based: the learning
rate follows a cosine over the wall-time budget (max_wall_s), checkpoints every ckpt_every_s.
"""
import json
import math
import os
import time
from dataclasses import asdict, dataclass

import numpy as np
import torch
import torch.nn.functional as F

from common import cli_help, RUNS, Logger, save_ckpt, setup
from data import load_esc50
from frontend import magnitude
from lmactd_model import TimeDecoder, TimeDecoderConfig, count_params
from train_decoder import load_classifier, make_batch, pick_targets


@dataclass
class TDTrainConfig:
    seed: int = 1414
    batch: int = 8
    lr: float = 1e-3
    warmup_steps: int = 30
    weight_decay: float = 1e-4
    lambda_in: float = 4.0
    lambda_out: float = 0.2
    lambda_sparsity: float = 1.2
    lambda_unlikely: float = 0.0
    lambda_energy: float = 0.5
    lambda_rec: float = 10.0
    ce_out_cap: float = 8.0
    top_k: int = 3
    p_random_target: float = 0.25
    p_clean: float = 0.2
    p_noise_partner: float = 0.3
    max_shift_s: float = 1.0
    max_wall_s: float = 50 * 60  # training wall time over all resumes (hard limit)
    ckpt_every_s: float = 240
    grad_clip: float = 1.0


def energy_ratio(y, x):
    return y.pow(2).sum(1) / x.pow(2).sum(1).clamp_min(1e-8)


def td_loss(classifier, model, x, hidden, target, weight, cfg):
    expl, m, feats = model(x, hidden[2], hidden[3], target, return_parts=True)
    res = x - expl
    b = x.shape[0]
    logits, _ = classifier(torch.cat([magnitude(expl), magnitude(res)]))
    ce_in = F.cross_entropy(logits[:b], target, reduction="none")
    ce_out = F.cross_entropy(logits[b:], target, reduction="none").clamp_max(cfg.ce_out_cap)
    mm = m.mean(dim=(1, 2))
    er = energy_ratio(expl, x)
    rec = energy_ratio(model.decode(feats) - x, x)
    sparsity = cfg.lambda_sparsity + cfg.lambda_unlikely * (1 - weight)
    loss = (weight * (cfg.lambda_in * ce_in - cfg.lambda_out * ce_out) + sparsity * mm
            + cfg.lambda_energy * er + cfg.lambda_rec * rec).mean()
    parts = dict(ce_in=ce_in.mean().item(), ce_out=ce_out.mean().item(), mm=mm.mean().item(),
                 er=er.mean().item(), rec=rec.mean().item())
    return loss, parts


@torch.no_grad()
def validate(classifier, model, vx):
    model.eval()
    logits, h = classifier(magnitude(vx))
    p = logits.softmax(1)
    top, low = p.argmax(1), p.argmin(1)
    out = {}
    e_top = model(vx, h[2], h[3], top)
    e_low = model(vx, h[2], h[3], low)
    q = classifier(magnitude(e_top))[0].softmax(1)
    r = classifier(magnitude(vx - e_top))[0].softmax(1)
    out["val_fid_in"] = round((q.argmax(1) == top).float().mean().item(), 4)
    out["val_ff"] = round((p.gather(1, top[:, None]) - r.gather(1, top[:, None])).mean().item(), 4)
    out["val_er_top"] = round(energy_ratio(e_top, vx).mean().item(), 4)
    out["val_er_unlikely"] = round(energy_ratio(e_low, vx).mean().item(), 5)
    model.train()
    return out


def main():
    cfg = TDTrainConfig()
    if os.environ.get("LMACTD_WALL_S"):
        cfg.max_wall_s = float(os.environ["LMACTD_WALL_S"])
    g = setup(cfg.seed, threads=1)
    log = Logger(os.environ.get("LMACTD_STAGE", "lmactd"))
    ds = load_esc50()
    tr, va = ds.subset([1, 2, 3]), ds.subset([4])
    xtr, ytr = ds.waves[tr], ds.targets[tr]
    classifier = load_classifier()
    model = TimeDecoder(TimeDecoderConfig())
    model.attach_head(classifier)
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2 and "pos" not in n]
    no_decay = [p for n, p in model.named_parameters() if not (p.dim() >= 2 and "pos" not in n)]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": cfg.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}], lr=cfg.lr)
    ckpt_path = os.path.join(log.dir, "ckpt.pt")
    step, wall = 0, 0.0
    if os.path.exists(ckpt_path):
        st = torch.load(ckpt_path)
        model.load_state_dict(st["model"]); opt.load_state_dict(st["opt"])
        g.set_state(st["gen"]); torch.set_rng_state(st["rng"])
        step, wall = st["step"], st["wall"]
        log(event="resume", step=step, wall=round(wall, 1))
    else:
        log(event="start", params=count_params(model), config=asdict(cfg), model_config=asdict(model.cfg))
    vg = torch.Generator(); vg.manual_seed(99)
    vidx = va[torch.randperm(len(va), generator=vg)[:16].numpy()]
    vx = make_batch(ds.waves, ds.targets, vidx, cfg, vg)

    def save():
        save_ckpt(ckpt_path, model=model.state_dict(), opt=opt.state_dict(), gen=g.get_state(),
                  rng=torch.get_rng_state(), step=step, wall=wall, config=asdict(cfg),
                  model_config=asdict(model.cfg))

    model.train()
    agg, n_agg = {}, 0
    last_ckpt = wall
    while wall < cfg.max_wall_s:
        t0 = time.time()
        idx = torch.randint(0, len(tr), (cfg.batch,), generator=g).numpy()
        x = make_batch(xtr, ytr, idx, cfg, g)
        with torch.no_grad():
            logits, hidden = classifier(magnitude(x))
            probs = logits.softmax(1)
        target = pick_targets(probs, cfg, g)
        weight = probs.gather(1, target[:, None])[:, 0]
        lr = cfg.lr * min(1.0, (step + 1) / cfg.warmup_steps) * 0.5 * (1 + math.cos(math.pi * min(1.0, wall / cfg.max_wall_s)))
        for pg in opt.param_groups:
            pg["lr"] = lr
        loss, parts = td_loss(classifier, model, x, hidden, target, weight, cfg)
        opt.zero_grad(); loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        opt.step()
        step += 1
        wall += time.time() - t0
        parts["loss"] = loss.item()
        for k, v in parts.items():
            agg[k] = agg.get(k, 0.0) + v
        n_agg += 1
        if step % int(os.environ.get("LMACTD_LOG_EVERY", 20)) == 0:
            log(step=step, wall=round(wall, 1), lr=round(lr, 6), **{k: round(v / n_agg, 4) for k, v in agg.items()})
            agg, n_agg = {}, 0
        if wall - last_ckpt >= cfg.ckpt_every_s:
            t1 = time.time()
            log(step=step, wall=round(wall, 1), val_s=None, **validate(classifier, model, vx))
            save()
            last_ckpt = wall
            log(event="ckpt", step=step, val_and_save_s=round(time.time() - t1, 1))
    log(step=step, wall=round(wall, 1), **validate(classifier, model, vx))
    save()
    torch.save({"model": model.state_dict(), "model_config": asdict(model.cfg), "wall": wall,
                "steps": step, "config": asdict(cfg)}, os.path.join(log.dir, "final.pt"))
    log(event="done", step=step, wall=round(wall, 1))


if __name__ == "__main__":
    cli_help(__doc__)
    main()
