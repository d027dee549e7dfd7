"""Latent-space explanation synthesis (seed: "Audio Explanation Synthesis with Generative Foundation
Models"): a small STFT autoencoder standing in for the foundation model, a classifier on its latent Z,
and the classifier's backward pass written out as torch ops so that it exports to ONNX.

Autoencoder (one CPU core, so small and convolutional over frames):
    |X| [B, 513, T]  --log, per-bin normalisation-->  Conv1d x3  -->  Z [B, 64, T]  (62.5 frames/s)
    Z  --Conv1d x3-->  normalised log|X|^  -->  |X|^ [B, 513, T]
Audio is ISTFT(|X|^ · e^{j∠X}) with the phase of the input, the same convention as L-MAC in this app:
the decoder is a magnitude decoder, a stand-in for a generative (waveform) decoder, which one CPU
core cannot train in the time we have.
"""
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from frontend import FE

LOG_EPS = 1e-4


@dataclass
class AEConfig:
    freq_bins: int = FE.freq_bins
    hidden: int = 256
    latent: int = 64
    kernel: int = 3


class LatentAE(nn.Module):
    """encode(|X|) -> Z; decode(Z) -> |X|^. Normalisation statistics are buffers (set from data)."""

    def __init__(self, cfg: AEConfig = AEConfig()):
        super().__init__()
        self.cfg = cfg
        f, h, z, k = cfg.freq_bins, cfg.hidden, cfg.latent, cfg.kernel
        p = k // 2
        self.register_buffer("mu", torch.zeros(f, 1))
        self.register_buffer("sigma", torch.ones(f, 1))
        self.enc = nn.Sequential(nn.Conv1d(f, h, k, padding=p), nn.GELU(),
                                 nn.Conv1d(h, h, k, padding=p), nn.GELU(),
                                 nn.Conv1d(h, z, k, padding=p))
        self.dec = nn.Sequential(nn.Conv1d(z, h, k, padding=p), nn.GELU(),
                                 nn.Conv1d(h, h, k, padding=p), nn.GELU(),
                                 nn.Conv1d(h, f, 1))

    def norm_log(self, mag):
        return (torch.log(mag + LOG_EPS) - self.mu) / self.sigma

    def encode(self, mag):
        return self.enc(self.norm_log(mag))

    def decode_norm(self, z):
        """Normalised log-magnitude (what the L1 loss compares)."""
        return self.dec(z)

    def decode(self, z):
        logmag = self.dec(z) * self.sigma + self.mu
        return F.relu(torch.exp(logmag) - LOG_EPS)

    def forward(self, mag):
        z = self.encode(mag)
        return z, self.decode(z)


class Encoder(nn.Module):
    """Export wrapper: magnitude -> z."""

    def __init__(self, ae: LatentAE):
        super().__init__()
        self.ae = ae

    def forward(self, magnitude):
        return self.ae.encode(magnitude)


class Decoder(nn.Module):
    """Export wrapper: z -> magnitude."""

    def __init__(self, ae: LatentAE):
        super().__init__()
        self.ae = ae

    def forward(self, z):
        return self.ae.decode(z)


@dataclass
class ZClassifierConfig:
    latent: int = 64
    n_classes: int = 50
    channels: tuple = (96, 128, 128)
    strides: tuple = (1, 2, 2)
    dropout: float = 0.3


class ZClassifier(nn.Module):
    """Z [B, 64, T] -> logits [B, 50]: (Z - zmu)/zsd, Conv1d(k3)+ReLU x3, mean over time, Linear.

    Only ops whose backward is written out in ZClassifierGrad (no batch norm, no max-pool)."""

    def __init__(self, cfg: ZClassifierConfig = ZClassifierConfig()):
        super().__init__()
        self.cfg = cfg
        self.register_buffer("zmu", torch.zeros(cfg.latent, 1))
        self.register_buffer("zsd", torch.ones(cfg.latent, 1))
        chans = (cfg.latent,) + tuple(cfg.channels)
        self.convs = nn.ModuleList(nn.Conv1d(chans[i], chans[i + 1], 3, stride=cfg.strides[i], padding=1)
                                   for i in range(len(cfg.channels)))
        self.dropout = nn.Dropout(cfg.dropout)
        self.fc = nn.Linear(chans[-1], cfg.n_classes)

    def forward(self, z):
        x = (z - self.zmu) / self.zsd
        for conv in self.convs:
            x = F.relu(conv(x))
        return self.fc(self.dropout(x.mean(dim=-1)))


class ZClassifierGrad(nn.Module):
    """(z, target one-hot) -> (logits, d log softmax(logits)_c / dz), the backward written by hand.

    ONNX export cannot trace autograd, so each layer's vector-Jacobian product is spelled out:
    Linear -> W^T, mean over time -> broadcast / T, ReLU -> mask of its pre-activation > 0,
    Conv1d (stride s, padding 1) -> conv_transpose1d with the same weights (output_padding fixes the
    length; traced for the shape at export time, so the graph is for that window length),
    normalisation -> / zsd. Checked against torch.autograd in latent_export.py."""

    def __init__(self, clf: ZClassifier):
        super().__init__()
        self.clf = clf

    def forward(self, z, target):
        c = self.clf
        x = (z - c.zmu) / c.zsd
        pre, lens = [], []
        for conv in c.convs:
            lens.append(x.shape[-1])
            a = conv(x)
            pre.append(a)
            x = F.relu(a)
        logits = c.fc(x.mean(dim=-1))
        # d log softmax_c / d logits = onehot - softmax
        v = target - torch.softmax(logits, dim=-1)  # [B, C]
        g = (v @ c.fc.weight).unsqueeze(-1).expand(-1, -1, int(x.shape[-1])) / int(x.shape[-1])
        for conv, a, n_in in zip(reversed(list(c.convs)), reversed(pre), reversed(lens)):
            g = g * (a > 0).to(g.dtype)
            s = conv.stride[0]
            n_out = a.shape[-1]
            op = int(n_in) - ((int(n_out) - 1) * s - 2 + 3)  # a constant in the traced graph
            g = F.conv_transpose1d(g, conv.weight, stride=s, padding=1, output_padding=op)
        return logits, g / c.zsd


def count_params(m: nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())
