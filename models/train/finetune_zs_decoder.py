"""Guidance fine-tuning of the zero-shot (LMAC-ZS) prompt decoder (issue 13: "the zero-shot decoder
gets the same treatment"), from the shipped decoder rebuilt by `from_onnx.py --zs`.

    /usr/bin/python3 models/train/finetune_zs_decoder.py --name zs-ft [--minutes=60] [--stop_at=HH:MM] [--key=value ...]

Resumes from runs/<name>/ckpt.pt; writes runs/<name>/final.pt (PromptMaskDecoder, the format
evaluate_zs_placed.py --decoder and evaluate_zs.py (ZS_DECODER=...) read). The audio–text model
(runs/zs_encoder/final.pt) is frozen; the decoder's BatchNorms stay in eval mode (folded weights).

Training inputs are finetune_decoder.py's placed-event mixtures (its make_examples, reused: the
energetic part of a clip of class A placed into a clip of class B, SNR uniform in [snr_lo, snr_hi];
each mixture twice, target A with T_A = 1[|A| > |B|] and target B with T_B = 1[|B| > |A|]; a share
p_random_target gets a random class with T = 0), drawn from folds 1-3 **without the zero-shot split's
10 held-out classes** (train_zs.held_out_split, as train_zs_decoder.py), random classes among the 40
seen ones. The zero-shot model stands in for the classifier there (its cosines to the 40 seen label
prompts). Each example's prompt is a caption of its class (captions.caption, as train_zs_decoder.py).

Loss per example (S = the mask before the similarity gate, M = gate · S):
  guidance terms: finetune_decoder.loss_fn itself without its classifier terms (with_ce=False), the
      prompt decoder seen through BatchPrompts as a class decoder whose "classes" are the batch's
      prompts: λ_g · balanced BCE(S, T) for real targets, λ_sparsity · mean(M) for random ones,
      λ_tv · TV(M), − λ_sisdr · SI-SDR(ISTFT(S ⊙ X), clean source), λ_time · frame ranking (target A)
  + every zs_every-th step, the ZS decoder's own faithfulness terms (train_zs_decoder.py; two passes of
      the audio encoder with gradients, so not every step), w = sigmoid(κ(s − τ)) detached:
      λ_zin · w · [relu(s − s_in) + mean_j≠k relu(s_in,j − s_j)]  +  λ_zout · w · relu(s_out − s_floor)
      with s = cos(a(X), t), s_in = cos(a(M⊙X), t), s_out = cos(a((1−M)⊙X), t), j over the batch's
      other prompts, s_floor = the unmatched median = τ − 4/κ (train_zs_decoder.gate_constants' definitions
      of τ, κ solved for it). The diversity term of stage 2 is left out: T_A and T_B do not overlap,
      so the BCE already asks the two prompts' masks for disjoint bins.
  + λ_empty · mean(−log(1 − S)) for the random-target examples (--lambda_empty; their T is empty, so this
      is the balanced BCE's negative half at λ_g = 2 λ_empty). finetune_decoder.loss_fn gives them only
      λ_sparsity · mean(M), on the gated mask: enough for the class decoder's sharp belief gate, but the
      similarity gate is soft (sigmoid(κ(s − τ)), κ ≈ 12), and without this term the first run (zs-ft1)
      raised the mask mean for an unrelated class name from 0.011 to 0.086 in 200 steps (40 fold-4 clips).
The similarity gate (τ, κ) is kept as shipped, so an unrelated prompt still gives a near-empty mask.

At the first step of each (re)start the run checks that loss_fn's mask through BatchPrompts equals
PromptMaskDecoder(h1..h4, text) (≤ 1e-6) and stops otherwise.

Fold-4 check every val_every steps: evaluate_zs_placed.evaluate on val_clips clips without the
faithfulness part (placed events, own vs unrelated class-name mask means). Learning rate: warm-up, then
constant or cosine to 0 at `minutes` of step time (finetune_decoder.lr_at). `--stop_at=HH:MM` (UTC)
also ends the run (a time earlier than now is tomorrow's); the run then writes final.pt.
"""
import os
import random
import sys
import time
from dataclasses import asdict, dataclass, fields

import numpy as np
import torch
import torch.nn.functional as F

from captions import Vocab, caption
from common import cli_help, deadline_of, RUNS, Logger, load_trained, parse_config, save_ckpt, setup, StepStats
from data import load_esc50
from evaluate_zs import BUNDLE
from evaluate_zs_placed import PromptsAsClassifier, evaluate, label_prompts, load_encoder
from finetune_decoder import FinetuneConfig, loss_fn, lr_at, make_examples
from model import PromptDecoderConfig, PromptMaskDecoder
from train_zs import held_out_split, text_batch


@dataclass
class ZsFinetuneConfig:
    name: str = "zs-ft"
    init: str = "zs_decoder-default"  # stage whose final.pt is the starting point (from_onnx.py --zs: the shipped decoder)
    seed: int = 1414
    minutes: float = 60.0  # step-time budget (resumable); the cosine reaches 0 here
    max_steps: int = 100000
    pairs: int = 8  # mixtures per step (2 examples each)
    lr: float = 5e-4
    warmup: int = 20
    lr_schedule: str = "cosine"
    lambda_g: float = 2.0
    lambda_sparsity: float = 1.6
    lambda_tv: float = 0.5
    lambda_sisdr: float = 0.1
    sisdr_cap: float = 30.0
    lambda_time: float = 1.0
    time_tau: float = 0.05
    balanced: int = 1  # 1: class-balanced BCE (0 plain; 2 energy-weighted), as finetune_decoder.py
    p_random_target: float = 0.15
    snr_lo: float = -6.0
    snr_hi: float = 6.0
    lambda_empty: float = 0.0  # random-target (unrelated prompt) examples: λ · mean(−log(1 − S)), S before the gate
    lambda_zin: float = 8.0  # train_zs_decoder.py's λ_in, λ_out
    lambda_zout: float = 2.0
    zs_every: int = 2  # the faithfulness terms (two encoder passes with gradients) every n-th step
    ckpt_every: int = 10
    log_every: int = 10
    val_every: int = 100
    val_clips: int = 40
    threads: int = 1
    stop_at: str = ""  # "HH:MM" (UTC)


def guidance_config(cfg: ZsFinetuneConfig) -> FinetuneConfig:
    """The finetune_decoder config that loss_fn and make_examples read, with this run's shared values
    (criterion "all": every real target gets the BCE; its classifier-term weights are unused here)."""
    shared = {f.name for f in fields(FinetuneConfig)} & {f.name for f in fields(ZsFinetuneConfig)}
    return FinetuneConfig(**{k: getattr(cfg, k) for k in shared}, criterion="all")


class BatchPrompts:
    """The prompt decoder as finetune_decoder.loss_fn's class decoder: "class" i = the batch's i-th
    prompt embedding, so embed(i) = cond(text_i) and belief_gate = the similarity gate for text_i."""

    def __init__(self, decoder: PromptMaskDecoder, text: torch.Tensor):
        self.decoder, self.text = decoder, text

    def decode(self, *hidden_and_e):
        return self.decoder.decode(*hidden_and_e)

    def embed(self, idx):
        return self.decoder.cond(self.text[idx])

    def belief_gate(self, h4, idx):
        c = self.decoder.cfg
        return torch.sigmoid(c.gate_kappa * (self.decoder.similarity(h4, self.text[idx]) - c.gate_tau))


def audio_embedding_from_h4(decoder: PromptMaskDecoder, h4):
    """The unit audio embedding [B, D] recomputed from h4 through the decoder's copy of the projection
    (the quantity PromptMaskDecoder.similarity dots with the text)."""
    x = h4.mean(dim=2)
    x = x.amax(dim=2) + x.mean(dim=2)
    return F.normalize(F.linear(x, decoder.head_w, decoder.head_b), dim=1, eps=1e-6)


def zs_faithfulness_terms(at, decoder, mag, mask, h4, text, s_floor):
    """(λ-free) in and out terms of train_zs_decoder.py per example (module doc), and s_in − s."""
    B = mask.shape[0]
    z = F.normalize(at.audio(torch.cat([mask * mag, (1 - mask) * mag]))[0], dim=1, eps=1e-6)
    z_in, z_out = z[:B], z[B:]
    with torch.no_grad():
        s_all = audio_embedding_from_h4(decoder, h4) @ text.T  # [B, B] the mixture's similarities
        s = s_all.diagonal()
        w = torch.sigmoid(decoder.cfg.gate_kappa * (s - decoder.cfg.gate_tau))
    s_in_all = z_in @ text.T
    s_in = s_in_all.diagonal()
    s_out = (z_out * text).sum(1)
    other = ~torch.eye(B, dtype=torch.bool)
    no_raise = (F.relu(s_in_all - s_all) * other).sum(1) / max(B - 1, 1)
    return w * (F.relu(s - s_in) + no_raise), w * F.relu(s_out - s_floor), (s_in - s).detach()


def val_summary(res):
    p = res["placed"]["L-MAC"]
    return {"val_tauc_all": round(p["timeAuc"], 4), "val_tfauc_all": round(p["tfAuc"], 4),
            "val_det": p["detected"]["n"], "val_tauc_det": round(p["detected"]["timeAuc"], 4),
            "val_tfauc_det": round(p["detected"]["tfAuc"], 4), "val_sisdr_in_det": round(p["detected"]["siSdrIn"], 3),
            "val_share_det": round(p["detected"]["energyShare"], 4),
            "val_mm_own": round(res["maskMeanOwn"], 4), "val_mm_unrelated": round(res["maskMeanUnrelated"], 4)}


def main():
    cfg = parse_config(ZsFinetuneConfig(), sys.argv[1:])
    if cfg.lr_schedule not in ("constant", "cosine"):
        raise SystemExit(f"--lr_schedule: expected constant or cosine, got {cfg.lr_schedule!r}")
    if cfg.balanced not in (0, 1, 2):
        raise SystemExit(f"--balanced: expected 0, 1 or 2, got {cfg.balanced}")
    gcfg = guidance_config(cfg)
    g = setup(cfg.seed, threads=cfg.threads)
    log = Logger(cfg.name)
    ds = load_esc50()
    _, seen, tr, va = held_out_split(ds)
    at = load_encoder()
    vocab = Vocab(BUNDLE)
    T_all = label_prompts(at, vocab, ds.labels)
    seen_t = torch.tensor(seen)
    # per clip: its class's position among the seen classes (-1 for held-out clips, which tr excludes)
    pos = np.full(50, -1, dtype=np.int64); pos[seen] = np.arange(len(seen))
    seen_pos = pos[ds.targets]
    zs_cls = PromptsAsClassifier(at, T_all[seen_t])
    decoder, _ = load_trained(os.path.join(RUNS, cfg.init, "final.pt"), PromptMaskDecoder, PromptDecoderConfig)
    for p in decoder.parameters():
        p.requires_grad_(True)
    decoder.eval()  # BN folded: keep running statistics fixed
    s_floor = decoder.cfg.gate_tau - 4.0 / decoder.cfg.gate_kappa
    opt = torch.optim.Adam(decoder.parameters(), lr=cfg.lr)
    rng = np.random.default_rng(cfg.seed)
    prng = random.Random(cfg.seed)
    ckpt_path = os.path.join(log.dir, "ckpt.pt")
    step, wall, sched = 0, 0.0, None
    if os.path.exists(ckpt_path):
        st = torch.load(ckpt_path)
        decoder.load_state_dict(st["model"]); opt.load_state_dict(st["opt"])
        g.set_state(st["gen"]); torch.set_rng_state(st["rng"]); rng.bit_generator.state = st["np_rng"]
        prng.setstate(st["py_rng"])
        step, wall, sched = st["step"], st["wall"], tuple(st["sched"])
        log(event="resume", step=step, wall=round(wall, 1), config=asdict(cfg))
    else:
        log(event="start", config=asdict(cfg), s_floor=round(s_floor, 4), seen=len(seen), train_clips=len(tr))
    if sched is None:
        sched = (step, wall)
    deadline = deadline_of(cfg.stop_at)
    if cfg.stop_at:
        log(event="stop_at", utc=time.strftime("%Y-%m-%d %H:%M", time.gmtime(deadline)))
    vidx = va[:cfg.val_clips]

    def val(**kv):
        log(step=step, **kv, **val_summary(evaluate(at, decoder, ds, vidx, T_all, faith=False)))

    def save():
        save_ckpt(ckpt_path, model=decoder.state_dict(), opt=opt.state_dict(), gen=g.get_state(),
                  rng=torch.get_rng_state(), np_rng=rng.bit_generator.state, py_rng=prng.getstate(),
                  step=step, wall=wall, sched=sched, config=asdict(cfg), model_config=asdict(decoder.cfg))

    if step == 0:
        val(start=True)
    stats, checked = StepStats({True: "zs_step", False: "guide_step"}), False
    while step < cfg.max_steps and wall < cfg.minutes * 60 and time.time() < deadline:
        t0 = time.time()
        lr = lr_at(gcfg, step, wall, *sched)
        for gr in opt.param_groups:
            gr["lr"] = lr
        with_zs = step % cfg.zs_every == 0
        mag, hidden, target, T, _, rnd, _, audio = make_examples(zs_cls, ds.waves, seen_pos, tr, gcfg, rng, g)
        cls = seen_t[target]  # the seen-class position -> class index
        with torch.no_grad():
            text = text_batch(at, vocab, [caption(ds.labels, int(c), prng) for c in cls])
        idx = torch.arange(len(cls))
        loss, parts, mask = loss_fn(None, BatchPrompts(decoder, text), mag, hidden, idx, T,
                                    torch.zeros(len(cls)), rnd, gcfg, with_ce=False, audio=audio)
        if not checked:  # once per (re)start: the adapter reproduces the decoder's own mask
            checked = True
            with torch.no_grad():
                diff = float((mask - decoder(*hidden, text)).abs().max())
            log(event="adapter_check", mask_max_abs_diff=diff)
            assert diff <= 1e-6, f"BatchPrompts mask differs from PromptMaskDecoder's by {diff}"
        if cfg.lambda_empty > 0 and rnd.any():
            r = rnd.nonzero()[:, 0]
            shape_r = torch.sigmoid(decoder.decode(*[h[r] for h in hidden], decoder.cond(text[r])))
            empty = -torch.log((1 - shape_r).clamp_min(1e-6)).mean((1, 2))
            loss = loss + cfg.lambda_empty * empty.sum() / len(cls)
            parts["empty_bce"] = float(empty.mean())
        if with_zs:
            l_in, l_out, d_sim = zs_faithfulness_terms(at, decoder, mag, mask, hidden[3], text, s_floor)
            loss = loss + (cfg.lambda_zin * l_in + cfg.lambda_zout * l_out).mean()
            parts.update(z_in=float(l_in.mean()), z_out=float(l_out.mean()), d_sim_in=float(d_sim.mean()))
        parts["lr"] = lr
        opt.zero_grad(); loss.backward(); opt.step()
        step += 1
        dt = time.time() - t0
        wall += dt
        stats.add(with_zs, dt, parts)
        if step % cfg.log_every == 0:
            log(step=step, wall=round(wall, 1), **stats.take())
        if step % cfg.ckpt_every == 0:
            save()
        if step % cfg.val_every == 0:
            val()
    save()
    val(final=True)
    torch.save({"model": decoder.state_dict(), "model_config": asdict(decoder.cfg), "wall": wall,
                "config": asdict(cfg), "steps": step}, os.path.join(log.dir, "final.pt"))
    log(event="done", step=step, wall=round(wall, 1))


if __name__ == "__main__":
    cli_help(__doc__, "  " + "\n  ".join(f"--{f.name.replace('_', '-')} (default {f.default!r})" for f in fields(ZsFinetuneConfig)))
    main()
