"""The L-MAC mask decoder for any (black-box) classifier, used by lmac_train.py.

Inputs (the bundle contract): linear |X| [B, F, T], the classifier's logits on the unmasked
window [B, C], the target class [B] int64; output: mask [B, F, T] in (0, 1). The decoder sees
log|X| (computed in its graph) and is conditioned on FiLM(embedding(target), softmax(logits),
log p_target). A small 2-D U-Net (4 stride-2 stages); the mask is gated by the classifier's own
belief in the target, sigmoid(kappa·(log p_target − log tau)), so a class the classifier does not
believe in gets a near-empty mask.
"""
import math
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from model import FiLM  # the same conditioning layer as the ESC-50 decoder


@dataclass
class LmacDecoderConfig:
    n_classes: int = 7
    channels: tuple = (8, 16, 32, 64, 96)  # full res, then 4 stride-2 stages
    embed_dim: int = 32
    belief_tau: float = 0.02
    belief_kappa: float = 2.0


def conv_bn(cin, cout, stride=1):
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU())


class Up(nn.Module):
    """x2 up-sampling as 1x1 conv + pixel shuffle (fast on CPU), crop to the skip, concat, conv, FiLM."""

    def __init__(self, cin, cskip, cout, embed_dim):
        super().__init__()
        self.up = nn.Sequential(nn.Conv2d(cin, 4 * cout, 1), nn.PixelShuffle(2))
        self.conv = nn.Conv2d(cout + cskip, cout, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(cout)
        self.film = FiLM(embed_dim, cout)

    def forward(self, x, skip, e):
        x = self.up(x)[:, :, :skip.shape[2], :skip.shape[3]]  # static shapes: a constant Slice
        x = self.bn(self.conv(torch.cat([x, skip], dim=1)))
        return F.relu(self.film(x, e))


class LmacDecoder(nn.Module):
    """(magnitude [B, F, T], logits [B, C], target [B]) -> mask [B, F, T] in (0, 1)."""

    def __init__(self, cfg: LmacDecoderConfig = LmacDecoderConfig()):
        super().__init__()
        self.cfg = cfg
        c = cfg.channels
        self.embed = nn.Embedding(cfg.n_classes, cfg.embed_dim)
        self.cond = nn.Sequential(nn.Linear(cfg.embed_dim + cfg.n_classes + 1, cfg.embed_dim), nn.ReLU(),
                                  nn.Linear(cfg.embed_dim, cfg.embed_dim))
        self.enc0 = conv_bn(2, c[0])
        self.down = nn.ModuleList(conv_bn(c[i], c[i + 1], stride=2) for i in range(4))
        self.mid = nn.Conv2d(c[4], c[4], 3, padding=1)
        self.film_mid = FiLM(cfg.embed_dim, c[4])
        self.ups = nn.ModuleList(Up(c[i + 1], c[i], c[i], cfg.embed_dim) for i in reversed(range(4)))
        self.out = nn.Conv2d(c[0], 1, 3, padding=1)

    def features(self, magnitude):
        """Two input channels: log|X| normalised per example, and log|X| on a fixed scale (level)."""
        x = torch.log(magnitude + 1e-5)
        mu = x.mean(dim=(1, 2), keepdim=True)
        sd = x.std(dim=(1, 2), keepdim=True) + 1e-3
        return torch.stack([(x - mu) / sd, (x + 5.0) / 5.0], dim=1)

    def forward(self, magnitude, logits, target):
        logp = F.log_softmax(logits, dim=1)
        logp_c = logp.gather(1, target[:, None])  # [B, 1]
        e = self.cond(torch.cat([self.embed(target), logp.exp(), logp_c], dim=1))
        skips = [self.enc0(self.features(magnitude))]
        for d in self.down:
            skips.append(d(skips[-1]))
        x = F.relu(self.film_mid(self.mid(skips[-1]), e))
        for up, skip in zip(self.ups, reversed(skips[:-1])):
            x = up(x, skip, e)
        gate = torch.sigmoid(self.cfg.belief_kappa * (logp_c[:, 0] - math.log(self.cfg.belief_tau)))
        mask = torch.sigmoid(self.out(x)[:, 0]) * gate[:, None, None]
        # the bundle contract promises the open interval (0, 1)
        return mask.clamp(1e-6, 1 - 1e-6)


def count_params(m: nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())
