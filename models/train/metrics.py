"""Faithfulness metrics with the exact definitions of shared/docs/methods.md (per example, then
averaged over a data set). p, q, r are probabilities (softmax once), c the target class."""
import torch


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
