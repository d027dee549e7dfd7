"""Faithfulness metrics with the exact definitions of shared/docs/methods.md (per example, then
averaged over a data set). p, q, r are probabilities (softmax once), c the target class."""
import numpy as np
import torch
from scipy.stats import rankdata


def per_example(p: torch.Tensor, q: torch.Tensor, r: torch.Tensor, c: torch.Tensor, mask: torch.Tensor):
    """Returns a dict of per-example tensors [B] for AI, AD, AG, FF, Fid-In, SPS, COMP, MM.

    p, q, r: [B, C] softmax of f(X), f(M⊙X), f((1−M)⊙X); c: [B] target; mask: [B, F, T].
    """
    idx = c[:, None]
    pc, qc, rc = p.gather(1, idx)[:, 0], q.gather(1, idx)[:, 0], r.gather(1, idx)[:, 0]
    ai = 100.0 * (qc > pc).float()
    ad = 100.0 * (pc - qc).clamp_min(0) / pc.clamp_min(1e-12)
    ag = 100.0 * (qc - pc).clamp_min(0) / (1 - pc).clamp_min(1e-12)
    ff = pc - rc
    fid = (q.argmax(1) == p.argmax(1)).float()
    flat = mask.reshape(mask.shape[0], -1)
    return {"AI": ai, "AD": ad, "AG": ag, "FF": ff, "Fid-In": fid, "SPS": sparseness(flat),
            "COMP": complexity(flat), "MM": flat.mean(1)}


def sparseness(flat: torch.Tensor) -> torch.Tensor:
    """Gini index per row: a = sorted(|M|+1e-7), sum_k (2k-n-1) a_k / (n sum a), k = 1..n."""
    a, _ = torch.sort(flat.abs().double() + 1e-7, dim=1)
    n = a.shape[1]
    k = torch.arange(1, n + 1, dtype=torch.float64)
    return ((2 * k - n - 1) * a).sum(1).div(n * a.sum(1)).float()


def complexity(flat: torch.Tensor) -> torch.Tensor:
    """Entropy (natural log) of |M| / sum|M| per row (0·log0 = 0)."""
    a = flat.abs().double()
    pr = a / a.sum(1, keepdim=True).clamp_min(1e-300)
    ent = -(pr * torch.log(pr.clamp_min(1e-300))).sum(1)
    return ent.float()


def average(rows: list) -> dict:
    """Mean over all examples of a list of per_example() dicts."""
    keys = rows[0].keys()
    return {k: float(torch.cat([r[k] for r in rows]).mean()) for k in keys}


# Listenability on two-source mixtures A + B (issue 13; the same definitions as
# src/core/listenability.ts) and the ROC AUC of the ground-truth checks (src/core/groundTruth.ts).

def si_sdr(est: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
    """SI-SDR in dB per row (methods.md), in float64: both zero-mean, α = <ŝ, s>/‖s‖²,
    10·log10(‖αs‖²/‖αs − ŝ‖²). NaN where the reference is silent or the estimate is (more than
    100 dB below the reference's energy, e.g. the all-ones mask's residual), +inf for an exact copy."""
    est = est.double() - est.double().mean(-1, keepdim=True)
    ref = ref.double() - ref.double().mean(-1, keepdim=True)
    rr, ee = ref.pow(2).sum(-1), est.pow(2).sum(-1)
    alpha = (est * ref).sum(-1) / torch.where(rr > 0, rr, torch.ones_like(rr))
    s = alpha[:, None] * ref if est.dim() == 2 else alpha * ref
    out = 10 * torch.log10(s.pow(2).sum(-1) / (s - est).pow(2).sum(-1))
    return torch.where((rr > 0) & (ee > 1e-10 * rr), out, torch.full_like(out, float("nan"))).float()


def energy_share(mask: torch.Tensor, mag: torch.Tensor, bins_a: torch.Tensor) -> torch.Tensor:
    """Share of the explanation's energy Σ(M|X|)² that lies in A's bins, per row [B, F, T] (NaN when
    the explanation has no energy)."""
    e = (mask.double() * mag.double()).pow(2)
    tot = e.sum((1, 2))
    share = (e * bins_a.double()).sum((1, 2)) / torch.where(tot > 0, tot, torch.ones_like(tot))
    return torch.where(tot > 0, share, torch.full_like(share, float("nan"))).float()


def roc_auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """ROC AUC with average ranks for ties (NaN when only one label occurs), as groundTruth.rocAuc."""
    labels = labels.astype(bool)
    npos, nneg = int(labels.sum()), int((~labels).sum())
    if npos == 0 or nneg == 0:
        return float("nan")
    r = rankdata(scores)  # average ranks for ties
    return float((r[labels].sum() - npos * (npos + 1) / 2) / (npos * nneg))
