"""The latent explainer, as src/core/latent.ts implements it (the TypeScript test checks it against
a fixture written from these functions).

Latent features are (channel, time group) cells of Z [C, T]: group g covers frames
[floor(g·T/G), floor((g+1)·T/G)). Attribution of feature (c, g) for target class k:
  - "gradxinput": Σ_{t in g} (z[c,t] − b[c]) · ∂ log softmax(f(z))_k / ∂z[c,t]   (one grad-graph run)
  - "occlusion":  log softmax(f(z))_k − log softmax(f(z with cell (c,g) set to b[c]))_k   (C·G runs)
b = the baseline latent per channel. Keep the top-β fraction (k = max(1, round(β·C·G)) features by
score, ties to the lower index), the rest set to b: explanation = Dec(z_keep); removed = Dec(z_remove),
resynthesised with the input's phase.
"""
import torch

from frontend import istft, stft


def group_edges(t: int, groups: int):
    return [(g * t) // groups for g in range(groups + 1)]


def expand_cells(cells: torch.Tensor, t: int) -> torch.Tensor:
    """[B, C, G] -> [B, C, T] by group."""
    groups = cells.shape[-1]
    e = group_edges(t, groups)
    gid = torch.empty(t, dtype=torch.long)
    for g in range(groups):
        gid[e[g]:e[g + 1]] = g
    return cells[:, :, gid]


def pool_cells(x: torch.Tensor, groups: int) -> torch.Tensor:
    """[B, C, T] -> [B, C, G] sums per group."""
    e = group_edges(x.shape[-1], groups)
    return torch.stack([x[:, :, e[g]:e[g + 1]].sum(-1) for g in range(groups)], dim=-1)


def grad_x_input(grad_model, z, baseline, target, groups):
    """grad_model: ZClassifierGrad; z [B, C, T]; baseline [C]; target [B] -> scores [B, C, G]."""
    onehot = torch.nn.functional.one_hot(target, grad_model.clf.cfg.n_classes).float()
    with torch.no_grad():
        _, g = grad_model(z, onehot)
    return pool_cells((z - baseline[None, :, None]) * g, groups)


@torch.no_grad()
def occlusion(clf, z, baseline, target, groups, batch=128):
    """scores [B, C, G] from C·G classifier runs per example."""
    b, c, t = z.shape
    e = group_edges(t, groups)
    out = torch.empty(b, c, groups)
    base_lp = torch.log_softmax(clf(z), -1).gather(1, target[:, None])[:, 0]
    cells = [(ci, g) for ci in range(c) for g in range(groups)]
    for i in range(b):
        for s in range(0, len(cells), batch):
            chunk = cells[s:s + batch]
            zz = z[i:i + 1].repeat(len(chunk), 1, 1)
            for j, (ci, g) in enumerate(chunk):
                zz[j, ci, e[g]:e[g + 1]] = baseline[ci]
            lp = torch.log_softmax(clf(zz), -1)[:, target[i]]
            for j, (ci, g) in enumerate(chunk):
                out[i, ci, g] = base_lp[i] - lp[j]
    return out


def top_beta(scores: torch.Tensor, beta: float) -> torch.Tensor:
    """[B, C, G] scores -> 0/1 keep mask with the top max(1, round(β·n)) cells per row (stable ties)."""
    b = scores.shape[0]
    flat = scores.reshape(b, -1)
    n = flat.shape[1]
    k = max(1, int(round(beta * n)))
    order = torch.sort(-flat, dim=1, stable=True).indices[:, :k]
    keep = torch.zeros_like(flat)
    keep.scatter_(1, order, 1.0)
    return keep.reshape(scores.shape)


def apply_keep(z, baseline, keep_cells):
    m = expand_cells(keep_cells, z.shape[-1])
    base = baseline[None, :, None]
    return base + m * (z - base), base + (1 - m) * (z - base)


@torch.no_grad()
def resynth(ae, z, spec, length):
    """ISTFT(Dec(z) · e^{j∠X}) with the input's complex STFT spec [B, F, T]."""
    mag = spec.abs()
    phase = torch.where(mag > 0, spec / mag.clamp_min(1e-30), torch.ones_like(spec))  # 1 where |X| = 0 (as stft.ts)
    return istft(ae.decode(z) * phase, length)
