"""LMAC-TD: a time-domain explanation decoder (issue 14; methods.md, LMAC-TD section).

    explanation = dec(M ⊙ enc(x)),  residual = x − explanation

enc: Conv1d(1, N = 256, 128, stride 64) + ReLU on the 16 kHz waveform (8 ms kernels, 1251 frames
for a 5 s window); dec: ConvTranspose1d(N, 1, 128, stride 64), no bias (a zero mask gives exact
silence). Both start as an exact analysis/synthesis pair (± a DCT-II basis under a sine window, so
dec(enc(x)) = x through the ReLU, with frequency-selective channels 62.5 Hz apart) and stay close
to it by a reconstruction term in the loss. (A first run with the paper's 16-sample kernels, 64
channels of a random frame, was stopped after 220 steps: CE on the explanation did not fall below
its starting value, the 1 ms kernels cannot separate sources that overlap in time.)

Mask network (SepFormer-style, small): the encoder features are pooled ×2 to 625 tokens (8 ms),
conditioned on the frozen classifier's hidden outputs h3, h4 (frequency folded into channels,
linearly interpolated to the token rate, added) and on the target class (FiLM from a class
embedding before every block), then dual-path blocks (an intra-chunk transformer layer over
25 tokens = 200 ms, an inter-chunk layer over the 25 chunks) and a 1×1 projection to N mask
logits per token; the sigmoid mask is linearly interpolated back to the encoder frames. The sigmoid mask is gated by the
classifier's belief p_c (recomputed from h4 with a frozen copy of its head, as MaskDecoder does),
so an unlikely class gets near-silence.

Everything is plain matmul / conv / softmax so that it exports to ONNX opset 17 and runs in
onnxruntime-web's WASM backend.
"""
import math
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from frontend import FE


@dataclass
class TimeDecoderConfig:
    n_classes: int = 50
    enc_channels: int = 256  # N
    kernel: int = 128  # 8 ms
    stride: int = 64  # 4 ms
    pool: int = 2  # encoder frames per token (8 ms)
    d_model: int = 96
    heads: int = 4
    ff: int = 192
    chunk: int = 25  # tokens per chunk (625 = 25 x 25 for a 5 s window)
    blocks: int = 2  # dual-path blocks (each: intra + inter layer)
    hidden_channels: tuple = (96 * 8, 192 * 4)  # h3, h4 with frequency folded into channels
    embed_dim: int = 64
    belief_tau: float = 0.02
    belief_kappa: float = 2.0
    head_in: int = 192
    window: int = FE.window_samples

    @property
    def frames(self) -> int:  # encoder frames with padding kernel-stride on both sides
        return (self.window + 2 * (self.kernel - self.stride) - self.kernel) // self.stride + 1

    @property
    def tokens(self) -> int:
        return self.frames // self.pool


class Attention(nn.Module):
    def __init__(self, d, heads):
        super().__init__()
        self.h = heads
        self.qkv = nn.Linear(d, 3 * d)
        self.out = nn.Linear(d, d)

    def forward(self, x):  # [B, L, D]
        b, l, d = x.shape
        q, k, v = self.qkv(x).reshape(b, l, 3, self.h, d // self.h).permute(2, 0, 3, 1, 4)
        att = torch.softmax(torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(d // self.h), dim=-1)
        y = torch.matmul(att, v).transpose(1, 2).reshape(b, l, d)
        return self.out(y)


class Layer(nn.Module):
    """Pre-norm transformer layer."""

    def __init__(self, d, heads, ff, length):
        super().__init__()
        self.pos = nn.Parameter(torch.zeros(1, length, d))
        self.n1 = nn.LayerNorm(d)
        self.att = Attention(d, heads)
        self.n2 = nn.LayerNorm(d)
        self.ff = nn.Sequential(nn.Linear(d, ff), nn.GELU(), nn.Linear(ff, d))

    def forward(self, x):
        x = x + self.pos
        x = x + self.att(self.n1(x))
        return x + self.ff(self.n2(x))


class DualPathBlock(nn.Module):
    def __init__(self, cfg: TimeDecoderConfig):
        super().__init__()
        n_chunks = cfg.tokens // cfg.chunk
        self.chunk, self.n_chunks = cfg.chunk, n_chunks
        self.intra = Layer(cfg.d_model, cfg.heads, cfg.ff, cfg.chunk)
        self.inter = Layer(cfg.d_model, cfg.heads, cfg.ff, n_chunks)
        self.film = nn.Linear(cfg.embed_dim, 2 * cfg.d_model)
        nn.init.zeros_(self.film.weight); nn.init.zeros_(self.film.bias)

    def forward(self, x, e):  # x [B, S, K, D] (S chunks of K tokens), e [B, E]
        b, s, k, d = x.shape
        g, bb = self.film(e).chunk(2, dim=1)
        x = x * (1 + g[:, None, None, :]) + bb[:, None, None, :]
        x = self.intra(x.reshape(b * s, k, d)).reshape(b, s, k, d)
        x = x.transpose(1, 2).reshape(b * k, s, d)
        x = self.inter(x).reshape(b, k, s, d).transpose(1, 2)
        return x


def tight_frame_init(n: int, kernel: int, stride: int, seed: int = 0):
    """(analysis W, synthesis V) [n, 1, kernel] with dec(relu(enc(x))) = x: the channels are ±U
    (U: n/2 × kernel with orthonormal columns) under a sine window a with a(k)² + a(k+stride)² = 1.
    U is the DCT-II basis when n/2 = kernel (frequency-selective channels, like a short STFT),
    else a random orthonormal frame."""
    assert kernel == 2 * stride and n % 2 == 0 and n // 2 >= kernel
    if n // 2 == kernel:
        k = torch.arange(kernel, dtype=torch.float64)
        u = torch.cos(math.pi / kernel * (k[None, :] + 0.5) * k[:, None]) * math.sqrt(2 / kernel)
        u[0] /= math.sqrt(2)
    else:
        g = torch.Generator(); g.manual_seed(seed)
        u, _ = torch.linalg.qr(torch.randn(n // 2, kernel, generator=g, dtype=torch.float64))
    a = torch.sin(math.pi * (torch.arange(kernel, dtype=torch.float64) + 0.5) / kernel)
    w = torch.cat([u, -u]) * a[None, :]
    return w.float()[:, None, :], w.float()[:, None, :]


class TimeDecoder(nn.Module):
    """(waveform [B, 80000], h3, h4, target [B] int64) -> explanation waveform [B, 80000]."""

    def __init__(self, cfg: TimeDecoderConfig = TimeDecoderConfig()):
        super().__init__()
        self.cfg = cfg
        n, d = cfg.enc_channels, cfg.d_model
        self.pad = cfg.kernel - cfg.stride
        self.enc = nn.Conv1d(1, n, cfg.kernel, stride=cfg.stride, bias=False)
        self.dec = nn.ConvTranspose1d(n, 1, cfg.kernel, stride=cfg.stride, bias=False)
        w, v = tight_frame_init(n, cfg.kernel, cfg.stride)
        with torch.no_grad():
            self.enc.weight.copy_(w); self.dec.weight.copy_(v)
        self.tok_norm = nn.GroupNorm(1, n)
        self.tok = nn.Conv1d(n, d, cfg.pool, stride=cfg.pool)
        self.hproj = nn.ModuleList(nn.Conv1d(c, d, 1) for c in cfg.hidden_channels)
        self.embed = nn.Embedding(cfg.n_classes, cfg.embed_dim)
        self.blocks = nn.ModuleList(DualPathBlock(cfg) for _ in range(cfg.blocks))
        self.norm = nn.LayerNorm(d)
        self.mask_out = nn.Linear(d, n)
        self.register_buffer("head_w", torch.zeros(cfg.n_classes, cfg.head_in))
        self.register_buffer("head_b", torch.zeros(cfg.n_classes))

    def attach_head(self, classifier):
        self.head_w.copy_(classifier.fc.weight.detach())
        self.head_b.copy_(classifier.fc.bias.detach())

    def belief_gate(self, h4, target):
        x = h4.mean(dim=2)
        x = x.amax(dim=2) + x.mean(dim=2)
        logp = F.log_softmax(F.linear(x, self.head_w, self.head_b), dim=1)
        logp_c = logp.gather(1, target[:, None])[:, 0]
        return torch.sigmoid(self.cfg.belief_kappa * (logp_c - math.log(self.cfg.belief_tau)))

    # enc/dec hold the weights; with kernel = 2·stride both are computed as one matmul on frames
    # made of two consecutive stride-blocks (the same linear maps as Conv1d / ConvTranspose1d, to
    # float rounding): onnxruntime-web's WASM Conv with 1 input channel and stride 64 took 90 ms
    # of a ~200 ms run, the GEMM a few ms.
    def encode(self, wave):  # [B, L] -> [B, N, frames]
        b = wave.shape[0]
        s = self.cfg.stride
        blocks = F.pad(wave, (self.pad, self.pad)).reshape(b, -1, s)  # [B, frames + 1, S]
        frames = torch.cat([blocks[:, :-1], blocks[:, 1:]], dim=2)  # [B, frames, K]
        w = self.enc.weight[:, 0, :]  # [N, K]
        return F.relu(torch.matmul(frames, w.t())).transpose(1, 2)

    def decode(self, feats):  # [B, N, frames] -> [B, L]
        b = feats.shape[0]
        s = self.cfg.stride
        fr = torch.matmul(feats.transpose(1, 2), self.dec.weight[:, 0, :])  # [B, frames, K]
        y = F.pad(fr[:, :, :s], (0, 0, 0, 1)) + F.pad(fr[:, :, s:], (0, 0, 1, 0))  # overlap-add
        y = y.reshape(b, -1)
        return y[:, self.pad:y.shape[1] - self.pad]

    def encode_conv(self, wave):  # reference (training used it): the same map as encode()
        return F.relu(self.enc(F.pad(wave[:, None, :], (self.pad, self.pad))))

    def decode_conv(self, feats):
        y = self.dec(feats)[:, 0]
        return y[:, self.pad:y.shape[1] - self.pad]

    def mask(self, feats, h3, h4, target):
        """Mask [B, N, frames] in [0, 1) on the encoder features: the shape times the belief gate."""
        return self.mask_shape(feats, h3, h4, target) * self.belief_gate(h4, target)[:, None, None]

    def mask_shape(self, feats, h3, h4, target):
        """The sigmoid mask before the belief gate (one scalar per example), at the encoder frames."""
        cfg = self.cfg
        b = feats.shape[0]
        t = cfg.tokens
        z = self.tok(self.tok_norm(torch.log1p(feats * 100.0)))  # [B, D, tokens]
        for proj, h in zip(self.hproj, (h3, h4)):
            hf = h.reshape(b, h.shape[1] * h.shape[2], h.shape[3])
            z = z + F.interpolate(proj(hf), size=t, mode="linear", align_corners=False)
        e = self.embed(target)
        s = t // cfg.chunk
        x = z.transpose(1, 2).reshape(b, s, cfg.chunk, cfg.d_model)
        for blk in self.blocks:
            x = blk(x, e)
        logits = self.mask_out(self.norm(x.reshape(b, t, cfg.d_model))).transpose(1, 2)  # [B, N, tokens]
        # linear interpolation to the encoder frames: no steps at token boundaries (no buzz at 125 Hz);
        # it is linear, so gating before or after it is the same map
        return F.interpolate(torch.sigmoid(logits), size=cfg.frames, mode="linear", align_corners=False)

    def forward(self, wave, h3, h4, target, return_parts: bool = False):
        feats = self.encode(wave)
        m = self.mask(feats, h3, h4, target)
        expl = self.decode(m * feats)
        if return_parts:
            return expl, m, feats
        return expl


def count_params(m: nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())
