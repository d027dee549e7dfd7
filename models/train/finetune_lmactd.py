"""Stage 2 of the LMAC-TD time decoder (issue 14): supervised listenability + completeness fine-tune.

    /usr/bin/python3 models/train/finetune_lmactd.py [--name lmactd-ft] [--init PATH] [--minutes 55]
        [--stop_utc 21:44] [--key=value ...]

Starts from --init (default runs/<name>/init.pt, a copy of runs/lmactd-r2/final.pt), resumes
runs/<name>/ckpt.pt when there is one; writes runs/<name>/final.pt in train_lmactd.py's format
(lmactd_eval.py --weights and lmactd_export.py --weights read it). The classifier is frozen.

Every step has `batch` examples whose sources are known, half of each kind:
  * placed events (placed.py, as finetune_decoder.py): the energetic part of a folds 1-3 clip of
    class A placed into a clip of class B at an SNR drawn from [snr_lo, snr_hi]; target A (share
    p_target_a) or B; the target's source is the placed A or B;
  * the stage-1 augmentation (train_lmactd.py / train_decoder.make_batch: 0 dB whole-clip mixtures
    with another clip of a different class or coloured noise, or a clean clip, circularly shifted);
    target = A's class, or the partner clip's class (share p_target_b), source = that clip (scaled
    as in the mixture);
  * out-of-domain mixtures (round(batch·p_ood) of the stage-1 half; 0 by default): as evaluate.py's
    out-of-domain mixtures, g·((1 − u)·s/‖s‖ + u·c/‖c‖) with s a folds 1-3 clip (circularly shifted),
    c a clip of another class, u uniform in [ood_c_lo, ood_c_hi] (evaluate.py: 0.2, ≈ +12 dB) and
    g a gain of ±ood_gain_db dB (unit norm: ≈ 28 dB quieter than a clip at its own level, which is
    what the other examples see); target = the classifier's top class on the mixture (as the
    evaluation), source = the part of that class ((1 − u)·g·s/‖s‖ or u·g·c/‖c‖; none when the top
    class is a third one: then only the L-MAC terms apply). Their λ_in is multiplied by
    ood_in_weight (Fid-In out of domain);
  * with p_random_target the target is instead a uniformly random class with no source (no
    supervision; the sparsity/energy terms keep its explanation near-silent, with the belief gate).
Loss per example, c the target, w = p_c on the mixture, x_in = explanation, x_out = x − x_in:

    w·(λ_in·k CE(f(|X_in|), c) − λ_out min(CE(f(|X_out|), c), cap))    stage 1's L-MAC terms (Fid-In)
    + λ_comp · w · −log(1 − p_c(|X_out|))                            completeness: the residual is not c (FF)
    + λ_sisdr · −min(SI-SDR(x_in, s_c), 30)                          supervised: the explanation is the source
    + λ_snr · 1[gate ≥ 0.9] · −min(SNR(x_in, s_c), 30)               ... at its level, so x_out ≈ the other source
    + rnd·(λ_s mean(M) + λ_e ‖x_in‖²/‖x‖²) + λ_rec ‖dec(enc(x)) − x‖²/‖x‖²

(sup = the example has a source, rnd = its target is a random class, k = ood_in_weight on the
out-of-domain examples, else 1). SI-SDR is scale invariant, so it is computed on the explanation
before the belief gate (one scalar per example: dec is linear, x_in = gate · dec(S ⊙ enc(x))): it
teaches the mask shape S even where the gate is shut, without opening the gate; the SNR term only
applies where the gate is open (p_c ≳ 0.06). Learning rate: linear warm-up, then a cosine to 0 over
`minutes` of step time (resumable); --stop_utc is a hard wall-clock stop (HH:MM, UTC) besides.
Continuing another run: copy its folder to runs/<name> (without final.pt); a ckpt.pt written under
another --name is taken as the start (weights and AdamW moments) with step and step time reset, so
warm-up and cosine run again over this run's --minutes; a ckpt.pt of this run resumes it.
Validation (fixed fold-4 batches, logged with each checkpoint): SI-SDR of the explanation for A vs
the clean A and of the residual vs B on 32 placed events at 0 dB and 16 whole-clip 0 dB mixtures
(all of them and those whose top class is A), and train_lmactd.validate's Fid-In / FF / energies on
the stage-1 validation batch, and Fid-In / FF on evaluate.py's out-of-domain mixtures of the
first 32 fold-4 clips (val_ood_*).
"""
import math
import os
import sys
import time
from dataclasses import asdict, dataclass, fields
from datetime import datetime, timezone

import numpy as np
import torch
import torch.nn.functional as F

from common import cli_help, RUNS, Logger, parse_config, save_ckpt, setup, si_sdr_db
from evaluate import mixtures
from data import coloured_noise, load_esc50, mix_at_snr, other_class_partners, random_shift
from finetune_decoder import sample_pairs
from frontend import FE, magnitude
from lmactd_model import TimeDecoder, TimeDecoderConfig, count_params
from placed import placed_batch
from train_decoder import load_classifier, make_batch
from train_lmactd import TDTrainConfig, energy_ratio, validate as validate_stage1


@dataclass
class TDFinetuneConfig:
    name: str = "lmactd-ft"
    init: str = ""  # default runs/<name>/init.pt
    seed: int = 1415
    minutes: float = 55.0  # step-time budget (cosine length), over all resumes
    stop_utc: str = ""  # HH:MM: stop (checkpoint + final.pt) at this UTC time whatever the budget
    batch: int = 8  # half placed events, half stage-1 augmentation
    lr: float = 5e-4
    warmup_steps: int = 20
    weight_decay: float = 1e-4
    lambda_in: float = 4.0
    lambda_out: float = 0.2
    ce_out_cap: float = 8.0
    lambda_comp: float = 2.0
    lambda_sisdr: float = 0.2  # per dB
    lambda_snr: float = 0.1  # per dB
    lambda_sparsity: float = 1.2  # unsupervised examples only (as stage 1)
    lambda_energy: float = 0.5  # unsupervised examples only
    lambda_rec: float = 10.0
    p_random_target: float = 0.2
    p_target_a: float = 0.65  # placed events: target the placed event (else the background)
    p_target_b: float = 0.35  # whole-clip mixtures with a clip partner: target the partner
    p_clean: float = 0.1
    p_noise_partner: float = 0.3
    max_shift_s: float = 1.0
    snr_lo: float = -5.0
    snr_hi: float = 5.0
    p_ood: float = 0.0  # share of the batch (taken from the stage-1 half) mixed out-of-domain
    ood_c_lo: float = 0.1  # contaminant weight u of an out-of-domain mixture, uniform in [lo, hi]
    ood_c_hi: float = 0.3
    ood_gain_db: float = 6.0  # gain of the unit-norm out-of-domain mixture, uniform in ±this (dB)
    ood_in_weight: float = 1.0  # λ_in multiplier on the out-of-domain examples
    grad_clip: float = 1.0
    ckpt_every_s: float = 240
    log_every: int = 10


def parse_args(argv):
    cfg = parse_config(TDFinetuneConfig(), argv)
    if cfg.stop_utc:
        try:
            datetime.strptime(cfg.stop_utc, "%H:%M")
        except ValueError:
            raise SystemExit(f"--stop_utc: expected HH:MM (UTC), got {cfg.stop_utc!r}")
    return cfg


def stop_time(hhmm: str):
    """The next HH:MM UTC as a Unix time (None if not set); one up to 12 h past is today's."""
    if not hhmm:
        return None
    h, m = map(int, hhmm.split(":"))
    now = datetime.now(timezone.utc)
    t = now.replace(hour=h, minute=m, second=0, microsecond=0).timestamp()
    # the next such time: 00:55 asked at 23:50 is tomorrow's (within 12 h back: today's, already past)
    return t + 86400 if t < now.timestamp() - 12 * 3600 else t


def snr_db(est, ref, eps=1e-8):
    return 10 * torch.log10((ref.pow(2).sum(1) + eps) / ((ref - est).pow(2).sum(1) + eps))


def sourced_augment(waves, targets, idx, cfg, g):
    """train_decoder.make_batch's inputs, with the sources: (mix, A, B, class of B or -1)."""
    x = random_shift(torch.from_numpy(waves[idx]), int(cfg.max_shift_s * FE.sample_rate), g)
    b = len(idx)
    partner = other_class_partners(targets, idx, g, step=40)
    other = torch.from_numpy(waves[partner])
    use_noise = torch.rand(b, 1, generator=g) < cfg.p_noise_partner
    other = torch.where(use_noise, coloured_noise(b, x.shape[1], g), other)
    mixed = mix_at_snr(x, other, torch.zeros(b))
    clean = torch.rand(b, 1, generator=g) < cfg.p_clean
    mix = torch.where(clean, x, mixed)
    cls_b = torch.from_numpy(targets[partner]).long()
    cls_b = torch.where((use_noise | clean)[:, 0], torch.full_like(cls_b, -1), cls_b)
    return mix, x, mix - x, cls_b


def ood_mixtures(waves, targets, idx, cfg, g):
    """evaluate.mixtures(kind="out") with a random weight u and gain: (mix, s part, c part, cls s, cls c)."""
    s = random_shift(torch.from_numpy(waves[idx]), int(cfg.max_shift_s * FE.sample_rate), g)
    partner = other_class_partners(targets, idx, g, step=40)
    c = torch.from_numpy(waves[partner])
    n = lambda v: v / v.norm(dim=1, keepdim=True).clamp_min(1e-8)
    b = len(idx)
    u = cfg.ood_c_lo + (cfg.ood_c_hi - cfg.ood_c_lo) * torch.rand(b, 1, generator=g)
    gain = 10.0 ** ((2 * torch.rand(b, 1, generator=g) - 1) * cfg.ood_gain_db / 20)
    sp, cp = gain * (1 - u) * n(s), gain * u * n(c)
    return sp + cp, sp, cp, torch.from_numpy(targets[idx]).long(), torch.from_numpy(targets[partner]).long()


def make_examples(classifier, waves, targets, tr, cfg, rng, g):
    """(mix, source [B, N] (zeros where none), sup [B] bool, rnd [B] bool, ood [B] bool, target [B],
    hidden, probs)."""
    n_placed = cfg.batch // 2
    n_ood = min(int(round(cfg.batch * cfg.p_ood)), cfg.batch - n_placed)
    n_aug = cfg.batch - n_placed - n_ood
    pairs = sample_pairs(targets, tr, n_placed, rng)
    pb = placed_batch(waves, targets, pairs, rng.uniform(cfg.snr_lo, cfg.snr_hi, n_placed), rng)
    use_a = torch.rand(n_placed, generator=g) < cfg.p_target_a
    p_tgt = torch.where(use_a, pb["target_a"].long(), pb["target_b"].long())
    p_src = torch.where(use_a[:, None], pb["event"], pb["mix"] - pb["event"])
    idx = torch.randint(0, len(tr), (n_aug,), generator=g).numpy()
    mix, a, bsrc, cls_b = sourced_augment(waves, targets, tr[idx], cfg, g)
    use_b = (cls_b >= 0) & (torch.rand(n_aug, generator=g) < cfg.p_target_b)
    a_tgt = torch.where(use_b, cls_b, torch.from_numpy(targets[tr[idx]]).long())
    a_src = torch.where(use_b[:, None], bsrc, a)
    if n_ood:
        oidx = torch.randint(0, len(tr), (n_ood,), generator=g).numpy()
        omix, o_s, o_c, o_cs, o_cc = ood_mixtures(waves, targets, tr[oidx], cfg, g)
    else:
        omix = o_s = torch.zeros(0, mix.shape[1])
        o_cs = o_cc = torch.zeros(0, dtype=torch.long)
    x = torch.cat([pb["mix"], mix, omix])
    with torch.no_grad():
        logits, hidden = classifier(magnitude(x))
    ood = torch.arange(cfg.batch) >= n_placed + n_aug
    has_src = ~ood
    if n_ood:  # target = the top class on the mixture; its source where it is s's or c's class
        o_tgt = logits[-n_ood:].argmax(1)
        is_s, is_c = o_tgt == o_cs, o_tgt == o_cc
        o_src = torch.where(is_s[:, None], o_s, torch.where(is_c[:, None], o_c, torch.zeros_like(o_s)))
        has_src[-n_ood:] = is_s | is_c
    else:
        o_tgt, o_src = o_cs, o_s
    src = torch.cat([p_src, a_src, o_src])
    target = torch.cat([p_tgt, a_tgt, o_tgt])
    rnd = torch.rand(cfg.batch, generator=g) < cfg.p_random_target
    target = torch.where(rnd, torch.randint(0, 50, (cfg.batch,), generator=g), target)
    sup = has_src & ~rnd
    return x, src * sup[:, None].float(), sup, rnd, ood, target, hidden, logits.softmax(1)


def ft_loss(classifier, model, x, src, sup, rnd, ood, target, hidden, probs, cfg):
    b = x.shape[0]
    feats = model.encode(x)
    shape = model.mask_shape(feats, hidden[2], hidden[3], target)
    gate = model.belief_gate(hidden[3], target)
    y = model.decode(shape * feats)  # the explanation before the gate
    expl = gate[:, None] * y  # = model(x, h3, h4, target)
    res = x - expl
    w = probs.gather(1, target[:, None])[:, 0]
    logits, _ = classifier(torch.cat([magnitude(expl), magnitude(res)]))
    ce_in = F.cross_entropy(logits[:b], target, reduction="none")
    ce_out = F.cross_entropy(logits[b:], target, reduction="none").clamp_max(cfg.ce_out_cap)
    r_c = logits[b:].softmax(1).gather(1, target[:, None])[:, 0]
    comp = -torch.log((1 - r_c).clamp_min(1e-6))
    supf = sup.float()
    sisdr = si_sdr_db(y, src)
    snr = snr_db(expl, src)
    open_ = (gate.detach() >= 0.9).float() * supf
    m = shape * gate[:, None, None]
    mm = m.mean((1, 2))
    er = energy_ratio(expl, x)
    rec = energy_ratio(model.decode(feats) - x, x)
    k_in = torch.where(ood, torch.full_like(w, cfg.ood_in_weight), torch.ones_like(w))
    per = (w * (cfg.lambda_in * k_in * ce_in - cfg.lambda_out * ce_out + cfg.lambda_comp * comp)
           - cfg.lambda_sisdr * supf * sisdr.clamp_max(30.0)
           - cfg.lambda_snr * open_ * snr.clamp_max(30.0)
           + rnd.float() * (cfg.lambda_sparsity * mm + cfg.lambda_energy * er)
           + cfg.lambda_rec * rec)
    ns = supf.sum().clamp_min(1)
    no = open_.sum().clamp_min(1)
    parts = dict(ce_in=ce_in.mean().item(), ce_out=ce_out.mean().item(), r_c=r_c.mean().item(),
                 sisdr=((sisdr * supf).sum() / ns).item(), snr_open=((snr * open_).sum() / no).item(),
                 open=open_.mean().item(), mm=mm.mean().item(), er=er.mean().item(), rec=rec.mean().item())
    if ood.any():
        parts["ce_in_ood"] = ce_in[ood].mean().item()
        parts["er_ood"] = er[ood].mean().item()
    return per.mean(), parts


def separation_batches(ds, va):
    """Fixed fold-4 check mixtures: 32 placed events at 0 dB, 16 whole-clip 0 dB mixtures."""
    vrng = np.random.default_rng(99)
    pb = placed_batch(ds.waves, ds.targets, sample_pairs(ds.targets, va, 32, vrng), 0.0, vrng)
    pairs = sample_pairs(ds.targets, va, 16, vrng)
    a = torch.from_numpy(ds.waves[[i for i, _ in pairs]])
    o = torch.from_numpy(ds.waves[[j for _, j in pairs]])
    mix = mix_at_snr(a, o, torch.zeros(len(pairs)))
    return {"placed": (pb["mix"], pb["event"], pb["target_a"].long()),
            "whole": (mix, a, torch.from_numpy(ds.targets[[i for i, _ in pairs]]).long())}


@torch.no_grad()
def validate_separation(classifier, model, vsep):
    from metrics import si_sdr
    model.eval()
    out = {}
    for name, (mix, a, ta) in vsep.items():
        logits, h = classifier(magnitude(mix))
        det = logits.argmax(1) == ta
        e = model(mix, h[2], h[3], ta)
        sin, sout = si_sdr(e, a).numpy(), si_sdr(mix - e, mix - a).numpy()
        d = det.numpy()
        out[f"val_{name}_in"] = round(float(np.nanmean(sin)), 3)
        out[f"val_{name}_out"] = round(float(np.nanmean(sout)), 3)
        out[f"val_{name}_in_det"] = round(float(np.nanmean(sin[d])), 3) if d.any() else None
        out[f"val_{name}_det"] = int(d.sum())
    model.train()
    return out


@torch.no_grad()
def validate_ood(classifier, model, vood):
    """Fid-In and FF (target = top class) on evaluate.py's out-of-domain mixtures."""
    model.eval()
    logits, h = classifier(magnitude(vood))
    p = logits.softmax(1)
    top = p.argmax(1)
    e = model(vood, h[2], h[3], top)
    q = classifier(magnitude(e))[0].softmax(1)
    r = classifier(magnitude(vood - e))[0].softmax(1)
    model.train()
    return {"val_ood_fid_in": round((q.argmax(1) == top).float().mean().item(), 4),
            "val_ood_ff": round((p.gather(1, top[:, None]) - r.gather(1, top[:, None])).mean().item(), 4),
            "val_ood_er": round(energy_ratio(e, vood).mean().item(), 4)}


def main():
    cfg = parse_args(sys.argv[1:])
    g = setup(cfg.seed, threads=1)
    log = Logger(cfg.name)
    ds = load_esc50()
    tr, va = ds.subset([1, 2, 3]), ds.subset([4])
    classifier = load_classifier()
    ckpt_path = os.path.join(log.dir, "ckpt.pt")
    init = cfg.init or os.path.join(log.dir, "init.pt")
    src_st = torch.load(ckpt_path if os.path.exists(ckpt_path) else init)
    model = TimeDecoder(TimeDecoderConfig(**src_st["model_config"]))
    model.load_state_dict(src_st["model"])
    model.attach_head(classifier)
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2 and "pos" not in n]
    no_decay = [p for n, p in model.named_parameters() if not (p.dim() >= 2 and "pos" not in n)]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": cfg.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}], lr=cfg.lr)
    rng = np.random.default_rng(cfg.seed)
    step, wall = 0, 0.0
    prev_steps = 0
    if os.path.exists(ckpt_path) and src_st["config"].get("name") != cfg.name:
        # a copied run folder: its weights and AdamW moments, a fresh schedule over this --minutes
        opt.load_state_dict(src_st["opt"])
        prev_steps = src_st["step"]
        log(event="continue", from_run=src_st["config"].get("name"), from_steps=prev_steps,
            from_wall=round(src_st["wall"], 1), params=count_params(model), config=asdict(cfg))
    elif os.path.exists(ckpt_path):
        opt.load_state_dict(src_st["opt"])
        g.set_state(src_st["gen"]); torch.set_rng_state(src_st["rng"]); rng.bit_generator.state = src_st["np_rng"]
        step, wall = src_st["step"], src_st["wall"]
        prev_steps = src_st.get("prev_steps", 0)
        log(event="resume", step=step, wall=round(wall, 1))
    else:
        log(event="start", init=init, init_steps=src_st.get("steps"), params=count_params(model), config=asdict(cfg))
    del src_st
    vg = torch.Generator(); vg.manual_seed(99)  # train_lmactd.py's validation batch
    vidx = va[torch.randperm(len(va), generator=vg)[:16].numpy()]
    vx = make_batch(ds.waves, ds.targets, vidx, TDTrainConfig(), vg)
    vsep = separation_batches(ds, va)
    vood = mixtures(ds, va[:32], "out", seed=2024)

    def val():
        return {**validate_stage1(classifier, model, vx), **validate_separation(classifier, model, vsep),
                **validate_ood(classifier, model, vood)}

    def save():
        save_ckpt(ckpt_path, model=model.state_dict(), opt=opt.state_dict(), gen=g.get_state(),
                  rng=torch.get_rng_state(), np_rng=rng.bit_generator.state, step=step, wall=wall,
                  prev_steps=prev_steps, config=asdict(cfg), model_config=asdict(model.cfg))

    if step == 0:
        log(step=0, **val())
    deadline = stop_time(cfg.stop_utc)
    budget = cfg.minutes * 60
    model.train()
    agg, n_agg = {}, 0
    last_ckpt = wall
    while wall < budget and (deadline is None or time.time() < deadline):
        t0 = time.time()
        x, src, sup, rnd, ood, target, hidden, probs = make_examples(classifier, ds.waves, ds.targets, tr, cfg, rng, g)
        lr = cfg.lr * min(1.0, (step + 1) / cfg.warmup_steps) * 0.5 * (1 + math.cos(math.pi * min(1.0, wall / budget)))
        for pg in opt.param_groups:
            pg["lr"] = lr
        loss, parts = ft_loss(classifier, model, x, src, sup, rnd, ood, target, hidden, probs, cfg)
        opt.zero_grad(); loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        opt.step()
        step += 1
        wall += time.time() - t0
        parts["loss"] = loss.item()
        for k, v in parts.items():
            agg[k] = agg.get(k, 0.0) + v
        n_agg += 1
        if step % cfg.log_every == 0:
            log(step=step, wall=round(wall, 1), lr=round(lr, 6), **{k: round(v / n_agg, 4) for k, v in agg.items()})
            agg, n_agg = {}, 0
        if wall - last_ckpt >= cfg.ckpt_every_s:
            t1 = time.time()
            log(step=step, wall=round(wall, 1), **val())
            save()
            last_ckpt = wall
            log(event="ckpt", step=step, val_and_save_s=round(time.time() - t1, 1))
    log(step=step, wall=round(wall, 1), final=True, **val())
    save()
    torch.save({"model": model.state_dict(), "model_config": asdict(model.cfg), "wall": wall,
                "steps": step, "prev_steps": prev_steps, "config": asdict(cfg), "init": init}, os.path.join(log.dir, "final.pt"))
    log(event="done", step=step, wall=round(wall, 1))


if __name__ == "__main__":
    cli_help(__doc__, "  " + "\n  ".join(f"--{f.name} (default {f.default!r})" for f in fields(TDFinetuneConfig)))
    main()
