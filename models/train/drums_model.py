"""The drums classifier ("a user's model"): a 1-D CNN on the raw 16 kHz waveform.

wave [B, 16000] -> learned filterbank (Conv1d, stride 4) -> frame energy (square, average pool 8)
-> log, minus its per-example mean (gain invariance) -> 4 conv blocks over time -> max+mean pool
-> logits [B, C]. About 0.4 M parameters.
"""
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass
class DrumsConfig:
    n_classes: int = 7
    fb_channels: int = 64
    fb_kernel: int = 128
    fb_stride: int = 4
    energy_pool: int = 8  # -> 500 frames per second
    channels: tuple = (96, 128, 192, 256)
    kernel: int = 5
    dropout: float = 0.2


class Block(nn.Module):
    def __init__(self, cin, cout, k):
        super().__init__()
        self.conv1 = nn.Conv1d(cin, cout, k, padding=k // 2, bias=False)
        self.bn1 = nn.BatchNorm1d(cout)
        self.conv2 = nn.Conv1d(cout, cout, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm1d(cout)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = F.relu(self.bn2(self.conv2(x)))
        return F.max_pool1d(x, 2)


class DrumsCNN(nn.Module):
    """waveform [B, 16000] float32 -> logits [B, C]."""

    def __init__(self, cfg: DrumsConfig = DrumsConfig()):
        super().__init__()
        self.cfg = cfg
        pad = (cfg.fb_kernel - cfg.fb_stride) // 2
        self.fb = nn.Conv1d(1, cfg.fb_channels, cfg.fb_kernel, stride=cfg.fb_stride, padding=pad, bias=False)
        self.bn0 = nn.BatchNorm1d(cfg.fb_channels)
        chans = (cfg.fb_channels,) + tuple(cfg.channels)
        self.blocks = nn.ModuleList(Block(chans[i], chans[i + 1], cfg.kernel) for i in range(len(cfg.channels)))
        self.dropout = nn.Dropout(cfg.dropout)
        self.fc = nn.Linear(chans[-1], cfg.n_classes)

    def forward(self, waveform):
        x = self.fb(waveform.unsqueeze(1))
        x = F.avg_pool1d(x * x, self.cfg.energy_pool)
        x = torch.log(x + 1e-7)
        x = x - x.mean(dim=(1, 2), keepdim=True)
        x = self.bn0(x)
        for blk in self.blocks:
            x = blk(x)
        x = x.amax(dim=2) + x.mean(dim=2)
        return self.fc(self.dropout(x))


def count_params(m: nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())
