"""Stage 3: guidance fine-tuning of the class decoder (issue 13), from the stage-1 decoder.

    /usr/bin/python3 models/train/finetune_decoder.py --name ft-lg8 --lambda_g=8 [--minutes=15] [--key=value ...]

Resumes from runs/<name>/ckpt.pt; writes runs/<name>/final.pt (same format as train_decoder.py, so
evaluate.py --decoder and export_finetuned.py read it). The classifier is frozen; the stage-1
weights come from runs/decoder-stage1/final.pt (from_onnx.py rebuilds it from models/esc50/decoder.onnx).

Training inputs are placed-event mixtures (placed.py: the energetic part of a clip of class A placed
into a clip of class B at an SNR drawn from snr_range), so the target mask of each source is known:
T_A = 1[|A| > |B|] per bin, T_B = 1[|B| > |A|] (bins where both are silent belong to neither). Every mixture is used twice, with target A and with
target B. The loss per example, c the target, w = p_c on the mixture:

    w·(λ_in CE(f(M⊙X), c) − λ_out min(CE(f((1−M)⊙X), c), cap))        the stage-1 L-MAC terms
    + λ_comp · w · −log(1 − r_c)                                        completeness: the residual must not be c
    + λ_g · BCE(S, T_c)       for examples the criterion selects        guidance (methods.md)
    + λ_s · mean(M)           for the others (the paper drops L1 where the guidance applies)
    + λ_tv · (mean |∂_t M| + mean |∂_f M|)                             smoothness (no speckle)
    − λ_sisdr · min(SI-SDR(ISTFT(S ⊙ X), s_c), 30 dB)   for real targets  listenability (--lambda_sisdr)
    + λ_time · mean softplus((s_j − s_i) / τ)            target A: time placement (--lambda_time)

(the first two lines only every ce_every-th step: they need two classifier passes with gradients,
two thirds of a step's cost on 2 CPU cores). BCE is class-balanced by default (the mean over T's
positive bins and the mean over its negative bins, averaged), so a larger mask mean is no shortcut.
With --balanced=2 it is energy-weighted instead: each bin weighs |X|² / Σ|X|² (the weights the energy
share and SI-SDR give it), so a mask that lets B through where B is loud costs what it costs there.

Listenability term (--lambda_sisdr > 0, issue 13): the explanation's audio before the belief gate,
ISTFT(S ⊙ X) with X the mixture's complex STFT (its phase; S on the linear bins, as evaluate.py and
the app apply it), should be the clean source of the target: the placed A for target A, the clean
background B for target B (so the residual X − S⊙X is trained towards the other source as well).
SI-SDR per dB as metrics.si_sdr (zero-mean, float32, differentiable), capped at 30 dB; random-target
examples get no such term. It needs the mixture's waveform and sources, so it applies on the steps
with fresh mixtures only (with --cache_n, the cached guidance-only steps go without it).

Time-placement term (--lambda_time > 0, issue 13's time-AUC): for target A, s_t = mean over bins of S
in frame t, i a frame inside the placed interval and j one outside it (the labels evaluate.py's time-AUC
uses: frame t × hop in [off, off + len)); the mean over all (i, j) pairs of softplus((s_j − s_i) / τ),
τ = --time_tau, is the logistic surrogate of 1 − time-AUC. It only asks the frames to be ordered, so it
does not fight the BCE over which bins inside A's frames are A's. Fresh-mixture steps only (it needs
off/len), and not for target B (B fills the whole clip).

Learning rate: --lr_schedule=constant (warm-up then lr) or cosine: linear warm-up over `warmup` steps,
then a cosine to 0 at `minutes` of total step time. The cosine starts where the schedule was first
used (a run resumed from a constant-lr checkpoint starts its warm-up and cosine there); that start
(step, wall) is stored in the checkpoint, so a resumed cosine run continues the same curve.

S = sigmoid(decoder logits) is the mask before the belief gate (M = gate · S): the gate is one
scalar per example, so where it is closed the BCE still teaches S the target's bins (the gate
decides whether anything is shown, S where). Criterion (`criterion`): "cosine" = the paper's:
cos(S, T_c) ≥ cct; "believed" = examples whose belief gate is open (p_c ≥ belief_tau); "all" =
every example with a real target (first sweep, criterion "believed" with T_B = 1 − T_A and the
BCE on the gated M, made masks of the believed class cover everything: TF-AUC fell, see RESULTS.md).
A share p_random_target of examples instead gets a uniformly random class with an all-zero T and
no CE terms (keeps unbelieved classes' masks empty; the belief gate does most of this).
The decoder's BatchNorms stay in eval mode (the rebuilt stage-1 weights have them folded).

Cached guidance steps (`--cache_n=3000`): the steps without the classifier terms need only h1..h4
(the classifier's hidden outputs on the mixture) and the targets, so they read a fixed pool of
cache_n placed mixtures from folds 1-3 built once by placed_cache.py (models/train/cache/, reused
by every run with the same pool settings and classifier): decoder-only forward/backward, no
placement, STFT or classifier pass. The classifier-term steps (every ce_every-th) still place fresh
mixtures (or, with --cache_ce=1, use cached ones with their cached |X|). The random-target share
applies to cached examples as well. The log's s_per_ce_step / s_per_guide_step are the mean step
times of the two kinds. `--stop_at=HH:MM` (UTC) ends the run at that time as well as at `minutes` (the next such time: a time
earlier than now is tomorrow's).
"""
import math
import os
import sys
import time
from dataclasses import asdict, dataclass, fields

import numpy as np
import torch
import torch.nn.functional as F

from common import cli_help, deadline_of, RUNS, Logger, load_trained, parse_config, save_ckpt, setup, si_sdr_db, StepStats
from frontend import istft, stft
from model import Classifier, ClassifierConfig, DecoderConfig, MaskDecoder
from metrics import roc_auc, si_sdr
from placed import frame_labels, placed_batch, source_bins, valid_frames


@dataclass
class FinetuneConfig:
    name: str = "ft"
    init: str = "decoder-stage1"  # stage whose final.pt is the starting point
    seed: int = 1313
    minutes: float = 15.0  # wall-clock budget of training steps (resumable)
    max_steps: int = 100000
    pairs: int = 8  # mixtures per step (2 examples each)
    lr: float = 1e-3
    warmup: int = 20
    lambda_in: float = 4.0
    lambda_out: float = 0.2
    ce_out_cap: float = 8.0
    lambda_sparsity: float = 1.6
    lambda_g: float = 8.0
    criterion: str = "all"  # "cosine" (paper), "believed" or "all"
    cct: float = 0.6
    lambda_comp: float = 1.0
    lambda_tv: float = 0.5
    p_random_target: float = 0.15
    snr_lo: float = -6.0
    snr_hi: float = 6.0
    ce_every: int = 2  # the terms through the classifier (CE, completeness) on every n-th step only (cost)
    balanced: int = 1  # BCE as the mean of its positive-bin and negative-bin means (raising the mask's mean is no shortcut)
    ckpt_every: int = 20
    log_every: int = 10
    val_every: int = 0  # steps between fold-4 checks (0: 3 * ckpt_every)
    threads: int = 1
    cache_n: int = 0  # > 0: guidance-only steps read a fixed pool of this many cached mixtures (placed_cache.py)
    cache_seed: int = 4242
    cache_ce: int = 0  # 1: the classifier-term steps use cached mixtures too (0: fresh mixtures, as without cache)
    stop_at: str = ""  # "HH:MM" (UTC): also stop at this wall-clock time
    lambda_sisdr: float = 0.0  # per dB: −SI-SDR(ISTFT(S ⊙ X), clean source of the target), fresh steps only
    sisdr_cap: float = 30.0
    lr_schedule: str = "constant"  # "constant" or "cosine" (to 0 at `minutes` of step time)
    lambda_time: float = 0.0  # frame-ranking surrogate of time-AUC for target A (module doc), fresh steps only
    time_tau: float = 0.05


def parse_args(argv):
    cfg = parse_config(FinetuneConfig(), argv)
    if cfg.lr_schedule not in ("constant", "cosine"):
        raise SystemExit(f"--lr_schedule: expected constant or cosine, got {cfg.lr_schedule!r}")
    if cfg.balanced not in (0, 1, 2):
        raise SystemExit(f"--balanced: expected 0 (plain), 1 (class-balanced) or 2 (energy-weighted), got {cfg.balanced}")
    return cfg


def lr_at(cfg, step, wall, start_step, start_wall):
    """The learning rate of the step after `step` (module doc): warm-up from start_step, then
    constant or a cosine from start_wall to 0 at cfg.minutes of step time."""
    lr = cfg.lr * min(1.0, (step - start_step + 1) / cfg.warmup)
    if cfg.lr_schedule == "cosine":
        span = max(cfg.minutes * 60 - start_wall, 1e-9)
        lr *= 0.5 * (1 + math.cos(math.pi * min(1.0, max(0.0, wall - start_wall) / span)))
    return lr


def load_classifier():
    return load_trained(os.path.join(RUNS, "classifier", "final.pt"), Classifier, ClassifierConfig, frozen=True)[0]


def sample_pairs(targets, idx, n, rng):
    """n (event, background) index pairs from idx with different classes."""
    out = []
    while len(out) < n:
        i, j = rng.choice(idx, 2, replace=False)
        if targets[i] != targets[j]:
            out.append((int(i), int(j)))
    return out


def make_examples(classifier, waves, targets, idx, cfg, rng, g):
    """Mixture magnitudes, targets, T masks and p_c for 2·pairs examples (+ the random-target ones)."""
    pairs = sample_pairs(targets, idx, cfg.pairs, rng)
    b = placed_batch(waves, targets, pairs, rng.uniform(cfg.snr_lo, cfg.snr_hi, len(pairs)), rng)
    spec = stft(b["mix"])
    mag = spec.abs()
    ta, _, _ = source_bins(b["event"], b["bg"])
    with torch.no_grad():
        logits, hidden = classifier(mag)
        probs = logits.softmax(1)
    tb = (stft(b["bg"]).abs() > stft(b["event"]).abs()).float()
    target, T, w, rnd, p2 = two_targets(probs, b["target_a"], b["target_b"], ta, tb, g, cfg)
    # the clean source of each example's target: placed A for target A, the background B for target B
    audio = {"spec": _rep(spec), "src": torch.cat([b["event"], b["bg"]]),
             "frames": torch.cat([frame_labels(b, mag.shape[2]), torch.zeros(len(pairs), mag.shape[2], dtype=torch.bool)]),
             "has_time": torch.cat([torch.ones(len(pairs), dtype=torch.bool), torch.zeros(len(pairs), dtype=torch.bool)])}
    return _rep(mag), [_rep(h) for h in hidden], target, T, w, rnd, p2, audio


def time_rank_loss(shape, frames, valid, tau):
    """Per example: mean over (inside i, outside j) frame pairs of softplus((s_j − s_i) / tau), s the
    frame means of shape over bins (first `valid` frames); 0 where a side is empty."""
    s = shape[:, :, :valid].mean(1)  # [B, T]
    lab = frames[:, :valid].float()
    diff = (s[:, None, :] - s[:, :, None]) / tau  # [B, i, j] = (s_j − s_i) / tau
    w = lab[:, :, None] * (1 - lab)[:, None, :]  # i inside, j outside
    return (F.softplus(diff) * w).sum((1, 2)) / w.sum((1, 2)).clamp_min(1)


def _rep(t):
    return torch.cat([t, t])


def two_targets(probs, target_a, target_b, ta, tb, g, cfg):
    """Each mixture twice, with target A (bins ta) and target B (bins tb); a share p_random_target
    of the examples gets a random class, an all-zero T and weight 0. Returns target, T, w, rnd, p2."""
    n = probs.shape[0]
    target = torch.cat([target_a, target_b])
    T = torch.cat([ta, tb])
    rnd = torch.rand(2 * n, generator=g) < cfg.p_random_target
    if rnd.any():
        target = torch.where(rnd, torch.randint(0, probs.shape[1], (2 * n,), generator=g), target)
        T = T * (~rnd).float()[:, None, None]
    p2 = _rep(probs)
    w = p2.gather(1, target[:, None])[:, 0] * (~rnd).float()
    return target, T, w, rnd, p2


def cached_examples(pool, cfg, rng, g, with_mag=False):
    """make_examples' output from the cached pool: `pairs` mixtures drawn from it, no classifier pass."""
    b = pool.batch(rng.choice(pool.n, cfg.pairs, replace=False), with_mag=with_mag)
    probs = b["logits"].softmax(1)
    target, T, w, rnd, p2 = two_targets(probs, b["target_a"], b["target_b"], b["ta"], b["tb"], g, cfg)
    mag = _rep(b["mag"]) if with_mag else None
    return mag, [_rep(h) for h in b["hidden"]], target, T, w, rnd, p2, None


def loss_fn(classifier, decoder, mag, hidden, target, T, w, rnd, cfg, with_ce=True, audio=None):
    shape = torch.sigmoid(decoder.decode(*hidden, decoder.embed(target)))
    gate = decoder.belief_gate(hidden[3], target)
    mask = (shape * gate[:, None, None]).clamp(1e-6, 1 - 1e-6)  # = decoder(*hidden, target)
    B = hidden[0].shape[0]
    if with_ce:
        logits, _ = classifier(torch.cat([mask * mag, (1 - mask) * mag]))
        ce_in = F.cross_entropy(logits[:B], target, reduction="none")
        ce_out = F.cross_entropy(logits[B:], target, reduction="none").clamp_max(cfg.ce_out_cap)
        r_c = logits[B:].softmax(1).gather(1, target[:, None])[:, 0]
        comp = -torch.log((1 - r_c).clamp_min(1e-6))
    else:
        ce_in = ce_out = r_c = comp = torch.zeros(B)
    cos = F.cosine_similarity(shape.flatten(1), T.flatten(1), dim=1, eps=1e-8)
    bce_map = F.binary_cross_entropy(shape.clamp(1e-6, 1 - 1e-6), T, reduction="none")
    if cfg.balanced == 2:
        if mag is None:
            raise ValueError("--balanced=2 (energy-weighted BCE) needs |X|: not with cached guidance-only steps")
        e = mag.pow(2)
        bce = (bce_map * e).sum((1, 2)) / e.sum((1, 2)).clamp_min(1e-20)
    elif cfg.balanced:
        npos, nneg = T.sum((1, 2)).clamp_min(1), (1 - T).sum((1, 2)).clamp_min(1)
        bce = 0.5 * ((bce_map * T).sum((1, 2)) / npos + (bce_map * (1 - T)).sum((1, 2)) / nneg)
    else:
        bce = bce_map.mean((1, 2))
    if cfg.criterion == "cosine":
        sel = (cos.detach() >= cfg.cct) & ~rnd
    elif cfg.criterion == "believed":
        sel = (gate.detach() >= 0.5) & ~rnd
    else:
        sel = ~rnd
    sel_f = sel.float()
    mm = mask.mean((1, 2))
    tv = (mask[:, :, 1:] - mask[:, :, :-1]).abs().mean((1, 2)) + (mask[:, 1:] - mask[:, :-1]).abs().mean((1, 2))
    # random targets: only the sparsity / empty-target terms
    per = (w * (cfg.lambda_in * ce_in - cfg.lambda_out * ce_out + cfg.lambda_comp * comp)
           + cfg.lambda_g * sel_f * bce + cfg.lambda_sparsity * (1 - sel_f) * mm + cfg.lambda_tv * tv)
    parts = {}
    if cfg.lambda_sisdr > 0 and audio is not None:
        real = (~rnd).float()
        expl = istft(shape * audio["spec"], audio["src"].shape[1])  # before the gate, as evaluate.py applies masks
        sdr = si_sdr_db(expl, audio["src"])
        per = per - cfg.lambda_sisdr * real * sdr.clamp_max(cfg.sisdr_cap)
        parts["sisdr"] = (sdr * real).sum() / real.sum().clamp_min(1)
    if cfg.lambda_time > 0 and audio is not None:
        use = (audio["has_time"] & ~rnd).float()
        rank = time_rank_loss(shape, audio["frames"], valid_frames(audio["src"].shape[1], shape.shape[2]), cfg.time_tau)
        per = per + cfg.lambda_time * use * rank
        parts["time_rank"] = (rank * use).sum() / use.sum().clamp_min(1)
    parts = {"loss": per.mean(), "ce_in": ce_in.mean(), "ce_out": ce_out.mean(), "r_c": r_c.mean(),
             "bce": bce.mean(), "cos": cos.mean(), "sel": sel_f.mean(), "mm": mm.mean(), "tv": tv.mean(), **parts}
    return per.mean(), {k: float(v) for k, v in parts.items()}, mask


def main():
    cfg = parse_args(sys.argv[1:])
    g = setup(cfg.seed, threads=cfg.threads)
    log = Logger(cfg.name)
    from data import load_esc50
    ds = load_esc50()
    tr, va = ds.subset([1, 2, 3]), ds.subset([4])
    classifier = load_classifier()
    decoder, _ = load_trained(os.path.join(RUNS, cfg.init, "final.pt"), MaskDecoder, DecoderConfig)
    for p in decoder.parameters():
        p.requires_grad_(True)
    decoder.eval()  # BN folded: keep running statistics fixed
    opt = torch.optim.Adam(decoder.parameters(), lr=cfg.lr)
    rng = np.random.default_rng(cfg.seed)
    ckpt_path = os.path.join(log.dir, "ckpt.pt")
    step, wall = 0, 0.0
    sched = None  # (step, wall) where the current lr schedule started
    if os.path.exists(ckpt_path):
        st = torch.load(ckpt_path)
        decoder.load_state_dict(st["model"]); opt.load_state_dict(st["opt"])
        g.set_state(st["gen"]); torch.set_rng_state(st["rng"]); rng.bit_generator.state = st["np_rng"]
        step, wall = st["step"], st["wall"]
        old = st.get("sched")
        if old and old[0] == cfg.lr_schedule:
            sched = (old[1], old[2])
        log(event="resume", step=step, wall=round(wall, 1), lr_schedule=cfg.lr_schedule,
            sched_start=list(sched) if sched else [step, round(wall, 1)])
    else:
        log(event="start", config=asdict(cfg))
    # fixed fold-4 check: 48 placed mixtures at 0 dB, target A; TF-AUC and energy share of the mask
    vrng = np.random.default_rng(99)
    vpairs = sample_pairs(ds.targets, va, 48, vrng)
    vb = placed_batch(ds.waves, ds.targets, vpairs, 0.0, vrng)
    vspec = stft(vb["mix"])
    vmag = vspec.abs()
    vta, _, _ = source_bins(vb["event"], vb["bg"])
    vframes = frame_labels(vb, vmag.shape[2])
    vvalid = valid_frames(vb["mix"].shape[1], vmag.shape[2])

    def val():
        with torch.no_grad():
            logits, h = classifier(vmag)
            m = decoder(*h, vb["target_a"])
            det = logits.argmax(1) == vb["target_a"]
            auc = [roc_auc(m[i].flatten().numpy(), vta[i].flatten().numpy()) for i in range(len(vpairs))]
            tauc = np.array([roc_auc(m[i, :, :vvalid].mean(0).numpy(), vframes[i, :vvalid].numpy()) for i in range(len(vpairs))])
            e = (m * vmag).pow(2)
            share = ((e * vta).sum((1, 2)) / e.sum((1, 2)).clamp_min(1e-20))
            top = decoder(*h, logits.argmax(1))
            q = classifier(top * vmag)[0].argmax(1)
            L = vb["mix"].shape[1]
            sdr_in = si_sdr(istft(m * vspec, L), vb["event"]).numpy()
            sdr_out = si_sdr(istft((1 - m) * vspec, L), vb["bg"]).numpy()
        auc = np.array(auc)
        d = det.numpy()
        dmean = lambda v: round(float(np.nanmean(v[d])), 3) if d.any() else float("nan")
        return {"val_tfauc_all": round(float(np.nanmean(auc)), 4),
                "val_tfauc_det": round(float(np.nanmean(auc[det.numpy()])) if det.any() else float("nan"), 4),
                "val_tauc_all": round(float(np.nanmean(tauc)), 4),
                "val_tauc_det": round(float(np.nanmean(tauc[d])), 4) if d.any() else float("nan"),
                "val_det": int(det.sum()), "val_share": round(float(share.mean()), 4),
                "val_mm_top": round(float(top.mean()), 4),
                "val_fid_in": round(float((q == logits.argmax(1)).float().mean()), 4),
                "val_sisdr_in_all": round(float(np.nanmean(sdr_in)), 3), "val_sisdr_out_all": round(float(np.nanmean(sdr_out)), 3),
                "val_sisdr_in_det": dmean(sdr_in), "val_sisdr_out_det": dmean(sdr_out)}

    pool = None
    if cfg.cache_n > 0:
        from placed_cache import build_pool
        pool = build_pool(classifier, ds.waves, ds.targets, tr, cfg.cache_n, cfg.cache_seed, cfg.snr_lo, cfg.snr_hi, log=log)
    deadline = deadline_of(cfg.stop_at)
    if cfg.stop_at:
        log(event="stop_at", utc=time.strftime("%Y-%m-%d %H:%M", time.gmtime(deadline)))
    val_every = cfg.val_every or cfg.ckpt_every * 3
    if sched is None:
        sched = (step, wall)
    if step == 0 or cfg.lambda_sisdr > 0 or cfg.lr_schedule != "constant":
        log(step=step, start=True, **val())
    stats = StepStats({True: "ce_step", False: "guide_step"})  # classifier-term steps, guidance-only steps

    def save():
        save_ckpt(ckpt_path, model=decoder.state_dict(), opt=opt.state_dict(), gen=g.get_state(),
                  rng=torch.get_rng_state(), np_rng=rng.bit_generator.state, step=step, wall=wall,
                  config=asdict(cfg), model_config=asdict(decoder.cfg), sched=(cfg.lr_schedule, *sched))
    while step < cfg.max_steps and wall < cfg.minutes * 60 and time.time() < deadline:
        t0 = time.time()
        lr = lr_at(cfg, step, wall, *sched)
        for gr in opt.param_groups:
            gr["lr"] = lr
        with_ce = step % cfg.ce_every == 0
        if pool is not None and (not with_ce or cfg.cache_ce):
            mag, hidden, target, T, w, rnd, _, audio = cached_examples(pool, cfg, rng, g, with_mag=with_ce or cfg.balanced == 2)
        else:
            mag, hidden, target, T, w, rnd, _, audio = make_examples(classifier, ds.waves, ds.targets, tr, cfg, rng, g)
        loss, parts, _ = loss_fn(classifier, decoder, mag, hidden, target, T, w, rnd, cfg, with_ce=with_ce, audio=audio)
        parts["lr"] = lr
        opt.zero_grad(); loss.backward(); opt.step()
        step += 1
        dt = time.time() - t0
        wall += dt
        stats.add(with_ce, dt, parts)
        if step % cfg.log_every == 0:
            log(step=step, wall=round(wall, 1), **stats.take())
        if step % cfg.ckpt_every == 0:
            save()
        if step % val_every == 0:
            log(step=step, **val())
    log(step=step, final=True, **val())
    save()
    torch.save({"model": decoder.state_dict(), "model_config": asdict(decoder.cfg), "wall": wall,
                "config": asdict(cfg), "steps": step}, os.path.join(log.dir, "final.pt"))
    log(event="done", step=step, wall=round(wall, 1))


if __name__ == "__main__":
    cli_help(__doc__, "  " + "\n  ".join(f"--{f.name.replace('_', '-')} (default {f.default!r})" for f in fields(FinetuneConfig)))
    main()
