"""The classifier (a compact CNN on log-mel computed inside the graph) and the class-conditioned
L-MAC mask decoder. Both take/produce tensors at the linear STFT magnitude's resolution."""
import math
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from frontend import FE, mel_filterbank, mel_to_linear


@dataclass
class ClassifierConfig:
    n_classes: int = 50
    channels: tuple = (24, 48, 96, 192)
    dropout: float = 0.3
    spec_time_masks: int = 2
    spec_time_width: int = 40
    spec_freq_masks: int = 2
    spec_freq_width: int = 10


class ConvBlock(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = F.relu(self.bn2(self.conv2(x)))
        return F.avg_pool2d(x, 2)


class Classifier(nn.Module):
    """|X| [B, F, T] -> logits [B, C] and hidden block outputs h1..h4 (each after pooling)."""

    def __init__(self, cfg: ClassifierConfig = ClassifierConfig()):
        super().__init__()
        self.cfg = cfg
        self.register_buffer("mel_fb", torch.from_numpy(mel_filterbank(FE)))
        self.bn0 = nn.BatchNorm1d(FE.n_mels)
        chans = (1,) + tuple(cfg.channels)
        self.blocks = nn.ModuleList(ConvBlock(chans[i], chans[i + 1]) for i in range(4))
        self.dropout = nn.Dropout(cfg.dropout)
        self.fc = nn.Linear(chans[-1], cfg.n_classes)

    def logmel(self, mag):
        mel = torch.matmul(self.mel_fb, mag * mag)  # [B, M, T] power mel
        return torch.log(mel + 1e-8)

    def spec_augment(self, x):
        b, m, t = x.shape
        c = self.cfg
        mask = torch.ones_like(x)
        for _ in range(c.spec_time_masks):
            w = torch.randint(0, c.spec_time_width + 1, (b,))
            s = (torch.rand(b) * (t - w)).long()
            ar = torch.arange(t).unsqueeze(0)
            mask = mask * ~((ar >= s[:, None]) & (ar < (s + w)[:, None])).unsqueeze(1)
        for _ in range(c.spec_freq_masks):
            w = torch.randint(0, c.spec_freq_width + 1, (b,))
            s = (torch.rand(b) * (m - w)).long()
            ar = torch.arange(m).unsqueeze(0)
            mask = mask * ~((ar >= s[:, None]) & (ar < (s + w)[:, None])).unsqueeze(2)
        mean = x.mean(dim=(1, 2), keepdim=True)
        return x * mask + mean * (1 - mask)

    def forward(self, mag, augment: bool = False):
        x = self.bn0(self.logmel(mag))
        if augment:
            x = self.spec_augment(x)
        x = x.unsqueeze(1)  # [B, 1, M, T]
        hidden = []
        for blk in self.blocks:
            x = blk(x)
            hidden.append(x)
        x = x.mean(dim=2)  # over frequency -> [B, C, T']
        x = x.amax(dim=2) + x.mean(dim=2)
        logits = self.fc(self.dropout(x))
        return logits, hidden


@dataclass
class DecoderConfig:
    n_classes: int = 50
    enc_channels: tuple = (24, 48, 96, 192)
    dec_channels: tuple = (96, 48, 24, 16)  # after up-sampling to h3, h2, h1, mel resolution
    embed_dim: int = 64
    belief_tau: float = 0.02  # the mask is gated by sigmoid(kappa·(log p_c − log tau))
    belief_kappa: float = 2.0


class FiLM(nn.Module):
    def __init__(self, embed_dim, channels):
        super().__init__()
        self.proj = nn.Linear(embed_dim, 2 * channels)
        nn.init.zeros_(self.proj.weight)
        nn.init.zeros_(self.proj.bias)

    def forward(self, x, e):
        g, b = self.proj(e).chunk(2, dim=1)
        return x * (1 + g[:, :, None, None]) + b[:, :, None, None]


class UpStage(nn.Module):
    """Transposed conv x2, pad to the skip's size, concat skip, two convs, FiLM.

    The kernel-2 stride-2 transposed convolution is computed as a 1x1 conv to 4·cout channels
    followed by a pixel shuffle: the same linear map, but PyTorch's CPU ConvTranspose2d backward
    is ~8x slower, and training runs on 2 CPU cores.
    """

    def __init__(self, cin, cskip, cout, embed_dim):
        super().__init__()
        self.up = nn.Sequential(nn.Conv2d(cin, 4 * cout, 1), nn.PixelShuffle(2))
        self.conv1 = nn.Conv2d(cout + cskip, cout, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.bn2 = nn.BatchNorm2d(cout)
        self.film = FiLM(embed_dim, cout)

    def forward(self, x, skip, e, size):
        x = self.up(x)
        dh, dw = size[0] - x.shape[2], size[1] - x.shape[3]
        if dh or dw:  # shapes are static per window, so this traces to a constant Pad
            x = F.pad(x, (0, dw, 0, dh), mode="replicate")
        if skip is not None:
            x = torch.cat([x, skip], dim=1)
        x = F.relu(self.bn1(self.conv1(x)))
        x = self.film(self.bn2(self.conv2(x)), e)
        return F.relu(x)


class MaskDecoder(nn.Module):
    """(h1..h4, target [B] int64) -> mask [B, F, T] in (0, 1) at |X|'s resolution."""

    def __init__(self, cfg: DecoderConfig = DecoderConfig()):
        super().__init__()
        self.cfg = cfg
        enc, dec = cfg.enc_channels, cfg.dec_channels
        self.embed = nn.Embedding(cfg.n_classes, cfg.embed_dim)
        self.bottleneck = nn.Conv2d(enc[3], enc[3], 1)
        self.film0 = FiLM(cfg.embed_dim, enc[3])
        self.up3 = UpStage(enc[3], enc[2], dec[0], cfg.embed_dim)
        self.up2 = UpStage(dec[0], enc[1], dec[1], cfg.embed_dim)
        self.up1 = UpStage(dec[1], enc[0], dec[2], cfg.embed_dim)
        self.up0 = UpStage(dec[2], 0, dec[3], cfg.embed_dim)
        self.out = nn.Conv2d(dec[3], 1, 3, padding=1)
        self.register_buffer("mel_to_lin", torch.from_numpy(mel_to_linear(FE)))
        # a frozen copy of the classifier's head: p_c recomputed from h4 exactly as the classifier does
        self.register_buffer("head_w", torch.zeros(cfg.n_classes, enc[3]))
        self.register_buffer("head_b", torch.zeros(cfg.n_classes))

    def attach_head(self, classifier: "Classifier"):
        """Copies the classifier's final layer, used by the belief gate."""
        self.head_w.copy_(classifier.fc.weight.detach())
        self.head_b.copy_(classifier.fc.bias.detach())

    def belief_gate(self, h4, target):
        """sigmoid(kappa·(log p_c − log tau)) [B]: ~1 for classes the classifier believes in, ~0 for
        classes with p_c far below tau, so explaining an unlikely class gives a near-empty mask."""
        x = h4.mean(dim=2)
        x = x.amax(dim=2) + x.mean(dim=2)
        logp = F.log_softmax(F.linear(x, self.head_w, self.head_b), dim=1)
        logp_c = logp.gather(1, target[:, None])[:, 0]
        return torch.sigmoid(self.cfg.belief_kappa * (logp_c - math.log(self.cfg.belief_tau)))

    def decode(self, h1, h2, h3, h4, e):
        """The U-Net body: hidden outputs + conditioning vector e [B, E] -> mask logits [B, F, T]."""
        x = F.relu(self.film0(self.bottleneck(h4), e))
        x = self.up3(x, h3, e, h3.shape[2:])
        x = self.up2(x, h2, e, h2.shape[2:])
        x = self.up1(x, h1, e, h1.shape[2:])
        x = self.up0(x, None, e, (FE.n_mels, FE.frames))
        logit_mel = self.out(x)[:, 0]  # [B, M, T]
        return torch.matmul(self.mel_to_lin, logit_mel)  # [B, F, T]

    def forward(self, h1, h2, h3, h4, target):
        logit_lin = self.decode(h1, h2, h3, h4, self.embed(target))
        mask = torch.sigmoid(logit_lin) * self.belief_gate(h4, target)[:, None, None]
        # the bundle contract promises a mask in the open interval (0, 1): keep float32 from
        # rounding a saturated sigmoid to 1 or a gated mask to 0
        return mask.clamp(1e-6, 1 - 1e-6)


def count_params(m: nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())


# ---------------------------------------------------------------------------------------------
# Zero-shot (LMAC-ZS) side: an audio–text model with a GloVe text side, and a prompt-conditioned
# mask decoder.


@dataclass
class AudioTextConfig:
    joint_dim: int = 128
    glove_dim: int = 100
    channels: tuple = (24, 48, 96, 192)
    dropout: float = 0.2
    text_dropout: float = 0.1
    init_logit_scale: float = 10.0


class TextProjector(nn.Module):
    """SIF-pooled GloVe [B, 100] -> unit vector [B, D] in the joint space.

    Linear on purpose: with only 40 training classes a deeper text network memorises their
    phrases, while a linear map of GloVe keeps semantic neighbours (cat ~ dog) close, which is
    what zero-shot prompts for unseen classes rely on."""

    def __init__(self, cfg: AudioTextConfig):
        super().__init__()
        self.cfg = cfg
        self.drop = nn.Dropout(cfg.text_dropout)
        self.proj = nn.Linear(cfg.glove_dim, cfg.joint_dim)

    def forward(self, pooled):
        x = F.normalize(pooled, dim=1, eps=1e-6)
        return F.normalize(self.proj(self.drop(x)), dim=1, eps=1e-6)


class AudioTextModel(nn.Module):
    """Audio encoder (the classifier's CNN with its head as the projection) + text projector."""

    def __init__(self, cfg: AudioTextConfig = AudioTextConfig()):
        super().__init__()
        self.cfg = cfg
        self.audio = Classifier(ClassifierConfig(n_classes=cfg.joint_dim, channels=cfg.channels,
                                                 dropout=cfg.dropout))
        self.text = TextProjector(cfg)
        self.logit_scale = nn.Parameter(torch.tensor(math.log(cfg.init_logit_scale)))

    def embed_audio(self, mag, augment: bool = False):
        """|X| [B, F, T] -> (unit embedding [B, D], hidden h1..h4)."""
        z, hidden = self.audio(mag, augment=augment)
        return F.normalize(z, dim=1, eps=1e-6), hidden

    def scale(self):
        return self.logit_scale.exp().clamp(max=50.0)


@dataclass
class PromptDecoderConfig:
    joint_dim: int = 128
    embed_dim: int = 64
    gate_tau: float = 0.3  # the mask is gated by sigmoid(kappa·(cos(audio, text) − tau)); set from
    gate_kappa: float = 10.0  # the trained audio–text model's similarity distribution (train_zs_decoder.py)


class PromptMaskDecoder(MaskDecoder):
    """(h1..h4 of the audio encoder, text embedding [B, D]) -> mask [B, F, T] in (0, 1).

    The class embedding of MaskDecoder becomes a small network on the prompt's joint-space
    embedding; the belief gate becomes a similarity gate computed in the graph from h4 through a
    frozen copy of the audio encoder's projection, so a prompt unrelated to the sound gets a
    near-empty mask."""

    def __init__(self, cfg: PromptDecoderConfig = PromptDecoderConfig()):
        super().__init__(DecoderConfig(n_classes=cfg.joint_dim, embed_dim=cfg.embed_dim))
        del self.embed
        self.cfg = cfg
        self.cond = nn.Sequential(nn.Linear(cfg.joint_dim, cfg.embed_dim), nn.ReLU(),
                                  nn.Linear(cfg.embed_dim, cfg.embed_dim))

    def attach_head(self, audio_encoder: "Classifier"):
        """Copies the audio encoder's projection (its fc layer), used by the similarity gate."""
        self.head_w.copy_(audio_encoder.fc.weight.detach())
        self.head_b.copy_(audio_encoder.fc.bias.detach())

    def similarity(self, h4, text):
        """cos(audio embedding, text embedding) [B], the audio embedding recomputed from h4."""
        x = h4.mean(dim=2)
        x = x.amax(dim=2) + x.mean(dim=2)
        z = F.normalize(F.linear(x, self.head_w, self.head_b), dim=1, eps=1e-6)
        return (z * text).sum(1)

    def forward(self, h1, h2, h3, h4, text):
        logit_lin = self.decode(h1, h2, h3, h4, self.cond(text))
        gate = torch.sigmoid(self.cfg.gate_kappa * (self.similarity(h4, text) - self.cfg.gate_tau))
        mask = torch.sigmoid(logit_lin) * gate[:, None, None]
        return mask.clamp(1e-6, 1 - 1e-6)
