"""Zero-shot stage 2: the LMAC-ZS prompt-conditioned mask decoder on the frozen audio–text model
(runs/zs_encoder/final.pt), trained without the held-out classes as well.

    /usr/bin/python3 models/train/train_zs_decoder.py     # resumes from runs/zs_decoder/ckpt.pt

Inputs: 0 dB two-source mixtures of training clips of different classes (or with coloured noise,
or clean). Each input gets two prompts: a caption of its first source, and a caption of the
second source (or, for noise/clean inputs, of an unrelated training class). For each (audio i,
prompt k) with mask M, s = cos(a(X), t_k), s_in = cos(a(M⊙X), t_k), s_out = cos(a((1−M)⊙X), t_k),
and w = the similarity gate of s (detached):
  in:       w · [relu(s − s_in) + mean_j≠k relu(s_in,j − s_j)]   (keep the prompt's similarity and
            do not raise the similarity to the batch's other prompts: the original pattern)
  out:      w · relu(s_out − s_floor)      (masked-out audio no longer matches the prompt)
  sparsity: mean(M)
  diversity: the two prompts' masks on a two-clip mixture should not cover the same bins:
            2·mean(M1·M2) / (mean(M1) + mean(M2))
The gate constants τ, κ are set from the trained audio–text model: τ halfway between the medians
of matched and unmatched similarities on the training clips, κ = 4 / (matched median − τ).
"""
import math
import os
import random
import time
from dataclasses import asdict, dataclass

import numpy as np
import torch
import torch.nn.functional as F

from captions import Vocab, caption, class_prompt
from common import cli_help, RUNS, Logger, load_trained, resume, save_epoch, save_final, setup
from data import coloured_noise, load_esc50, mix_at_snr, other_class_partners, random_shift
from frontend import FE, magnitude
from model import AudioTextConfig, AudioTextModel, PromptDecoderConfig, PromptMaskDecoder, count_params
from train_zs import held_out_split, text_batch


@dataclass
class ZsDecoderTrainConfig:
    seed: int = 777
    epochs: int = 10
    batch: int = 16
    lr: float = 1e-3
    lambda_in: float = 8.0
    lambda_out: float = 2.0
    lambda_sparsity: float = 1.0
    lambda_diversity: float = 0.5
    p_clean: float = 0.2
    p_noise_partner: float = 0.25
    max_shift_s: float = 1.0


def load_audio_text():
    path = os.environ.get("ZS_ENCODER", os.path.join(RUNS, "zs_encoder", "final.pt"))
    return load_trained(path, AudioTextModel, AudioTextConfig, frozen=True)[0]


@torch.no_grad()
def gate_constants(model, vocab, waves, targets, labels, classes):
    """(tau, kappa, unmatched median) from matched vs unmatched class-name similarities."""
    t = text_batch(model, vocab, [class_prompt(labels[c]) for c in classes])
    za = torch.cat([model.embed_audio(magnitude(torch.from_numpy(waves[i:i + 64])))[0]
                    for i in range(0, len(waves), 64)])
    sim = za @ t.T
    col = torch.tensor([classes.index(int(c)) for c in targets])
    matched = sim[torch.arange(len(col)), col]
    other = sim.clone(); other[torch.arange(len(col)), col] = float("nan")
    m_pos = matched.median().item()
    m_neg = other[~torch.isnan(other)].median().item()
    tau = 0.5 * (m_pos + m_neg)
    return tau, 4.0 / max(m_pos - tau, 1e-3), m_neg, m_pos


def main():
    cfg = ZsDecoderTrainConfig()
    if os.environ.get("ZS_DECODER_EPOCHS"):
        cfg.epochs = int(os.environ["ZS_DECODER_EPOCHS"])
    g = setup(cfg.seed)
    rng = random.Random(cfg.seed)
    log = Logger("zs_decoder")
    ds = load_esc50()
    vocab = Vocab()
    labels = ds.labels
    held, seen, tr, va = held_out_split(ds)
    xtr, ytr = ds.waves[tr], ds.targets[tr]
    at = load_audio_text()
    enc = at.audio
    tau, kappa, s_floor, m_pos = gate_constants(at, vocab, xtr, ytr, labels, seen)
    decoder = PromptMaskDecoder(PromptDecoderConfig(joint_dim=at.cfg.joint_dim, gate_tau=round(tau, 4),
                                                    gate_kappa=round(kappa, 3)))
    decoder.attach_head(enc)
    opt = torch.optim.Adam(decoder.parameters(), lr=cfg.lr)
    steps = math.ceil(len(tr) / cfg.batch)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: 0.5 * (1 + math.cos(math.pi * min(1.0, s / (cfg.epochs * steps)))))
    ckpt_path = os.path.join(log.dir, "ckpt.pt")
    start, wall = resume(ckpt_path, decoder, opt, sched, g)
    if start:
        log(event="resume", epoch=start)
        rng.seed(cfg.seed + start)
    else:
        log(event="start", params=count_params(decoder), gate_tau=tau, gate_kappa=kappa,
            matched_median=m_pos, unmatched_median=s_floor, config=asdict(cfg))

    def encode(mag):
        return F.normalize(enc(mag)[0], dim=1, eps=1e-6)

    # fixed fold-4 validation: mask mean for the clip's own class name vs an unrelated class name
    vg = torch.Generator(); vg.manual_seed(99)
    vidx = va[torch.randperm(len(va), generator=vg)[:48].numpy()]
    vmag = magnitude(torch.from_numpy(ds.waves[vidx]))
    with torch.no_grad():
        all_t = text_batch(at, vocab, [class_prompt(l) for l in labels])
    vtgt = torch.from_numpy(ds.targets[vidx])
    vunrel = (vtgt + 25) % 50

    for epoch in range(start, cfg.epochs):
        t0 = time.time()
        decoder.train()
        order = torch.randperm(len(tr), generator=g).numpy()
        agg = np.zeros(6); n = 0
        max_steps = int(os.environ.get("ZS_DECODER_MAX_STEPS", 0))  # smoke runs only
        for i in range(0, len(order) if not max_steps else max_steps * cfg.batch, cfg.batch):
            idx = order[i:i + cfg.batch]
            b = len(idx)
            x = random_shift(torch.from_numpy(xtr[idx]), int(cfg.max_shift_s * FE.sample_rate), g)
            partner = other_class_partners(ytr, idx, g, step=24)
            two_clips = torch.from_numpy(ytr[partner] != ytr[idx]) & (torch.rand(b, generator=g) >= cfg.p_noise_partner)
            other = torch.where(two_clips[:, None], torch.from_numpy(xtr[partner]), coloured_noise(b, x.shape[1], g))
            clean = (torch.rand(b, generator=g) < cfg.p_clean) & ~two_clips
            x = torch.where(clean[:, None], x, mix_at_snr(x, other, torch.zeros(b)))
            mag = magnitude(x)
            caps1 = [caption(labels, int(ytr[j]), rng) for j in idx]
            caps2 = []
            for r in range(b):
                if two_clips[r]:
                    caps2.append(caption(labels, int(ytr[partner[r]]), rng))
                else:
                    unrel = rng.choice([c for c in seen if c != int(ytr[idx[r]])])
                    caps2.append(caption(labels, unrel, rng))
            with torch.no_grad():
                za, hidden = at.embed_audio(mag)
                tt = text_batch(at, vocab, caps1 + caps2)  # [2B, D]
                s_all = za @ tt.T  # [B, 2B] original similarities
            # pairs: (i, prompt i) and (i, prompt B+i)
            pidx = torch.cat([torch.arange(b), torch.arange(b) + b])
            aidx = torch.cat([torch.arange(b), torch.arange(b)])
            hid2 = [h[aidx] for h in hidden]
            mask = decoder(*hid2, tt[pidx])
            mag2 = mag[aidx]
            z = encode(torch.cat([mask * mag2, (1 - mask) * mag2]))
            z_in, z_out = z[:2 * b], z[2 * b:]
            s_orig = s_all[aidx]  # [2B, 2B]
            s_in_all = z_in @ tt.T
            own = torch.nn.functional.one_hot(pidx, 2 * b).bool()
            s = s_orig[own]; s_in = s_in_all[own]
            s_out = (z_out * tt[pidx]).sum(1)
            with torch.no_grad():
                w = torch.sigmoid(decoder.cfg.gate_kappa * (s - decoder.cfg.gate_tau))
            keep = F.relu(s - s_in)
            no_raise = (F.relu(s_in_all - s_orig) * (~own)).sum(1) / (2 * b - 1)
            l_in = (w * (keep + no_raise)).mean()
            l_out = (w * F.relu(s_out - s_floor)).mean()
            mm = mask.mean(dim=(1, 2))
            l_sp = mm.mean()
            m1, m2 = mask[:b], mask[b:]
            overlap = 2 * (m1 * m2).mean(dim=(1, 2)) / (mm[:b] + mm[b:] + 1e-4)
            l_div = (overlap * two_clips.float()).sum() / two_clips.float().sum().clamp_min(1)
            loss = (cfg.lambda_in * l_in + cfg.lambda_out * l_out + cfg.lambda_sparsity * l_sp
                    + cfg.lambda_diversity * l_div)
            opt.zero_grad(); loss.backward(); opt.step(); sched.step()
            agg += np.array([loss.item(), l_in.item(), l_out.item(), l_sp.item(), l_div.item(),
                             (s_in - s).mean().item()]) * b; n += b
        wall += time.time() - t0
        rec = dict(epoch=epoch + 1, wall=round(wall, 1),
                   **{k: round(float(v), 4) for k, v in zip(["loss", "in", "out", "mask_mean", "diversity", "d_sim_in"], agg / n)})
        decoder.eval()
        with torch.no_grad():
            za, vh = at.embed_audio(vmag)
            m_own = decoder(*vh, all_t[vtgt])
            m_unrel = decoder(*vh, all_t[vunrel])
            rec["val_mm_own"] = round(m_own.mean().item(), 4)
            rec["val_mm_unrelated"] = round(m_unrel.mean().item(), 4)
            top = (za @ all_t.T).argmax(1)
            q = encode(m_own * vmag) @ all_t.T
            rec["val_fid_in_own"] = round((q.argmax(1) == top).float().mean().item(), 4)
        log(**rec)
        save_epoch(ckpt_path, decoder, opt, sched, g, epoch + 1, wall, cfg)
    save_final(log.dir, decoder, wall, cfg)
    log(event="done", wall=round(wall, 1))


if __name__ == "__main__":
    cli_help(__doc__)
    main()
