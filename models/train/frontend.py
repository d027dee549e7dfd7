"""The signal front end shared by training and the app: STFT magnitude and the mel filterbank.

The app computes |X| itself (TypeScript STFT, same parameters) and feeds it to the ONNX graph,
so everything after |X| lives inside the classifier graph (see model.py).
"""
from dataclasses import dataclass

import numpy as np
import torch


@dataclass(frozen=True)
class FrontEnd:
    sample_rate: int = 16000
    window_samples: int = 80000  # 5.0 s
    n_fft: int = 1024
    win_length: int = 1024
    hop_length: int = 256
    n_mels: int = 64
    fmin: float = 50.0
    fmax: float = 8000.0

    @property
    def freq_bins(self) -> int:
        return self.n_fft // 2 + 1

    @property
    def frames(self) -> int:
        return self.window_samples // self.hop_length + 1

    def manifest_fields(self) -> dict:
        """The bundle manifest's audio contract (sampleRate, windowSamples, stft) the app's STFT follows."""
        return {
            "sampleRate": self.sample_rate,
            "windowSamples": self.window_samples,
            "stft": {"nFft": self.n_fft, "winLength": self.win_length, "hopLength": self.hop_length,
                     "window": "hann-periodic", "center": True, "padMode": "reflect"},
        }


FE = FrontEnd()


def stft(wave: torch.Tensor, fe: FrontEnd = FE) -> torch.Tensor:
    """Complex STFT [B, F, T] with a periodic Hann window, centred, reflect padding."""
    window = torch.hann_window(fe.win_length, periodic=True, device=wave.device)
    return torch.stft(wave, fe.n_fft, fe.hop_length, fe.win_length, window=window,
                      center=True, pad_mode="reflect", return_complex=True)


def istft(spec: torch.Tensor, length: int, fe: FrontEnd = FE) -> torch.Tensor:
    """Inverse of stft() (overlap-add divided by the summed squared window)."""
    window = torch.hann_window(fe.win_length, periodic=True, device=spec.device)
    return torch.istft(spec, fe.n_fft, fe.hop_length, fe.win_length, window=window,
                       center=True, length=length)


def magnitude(wave: torch.Tensor, fe: FrontEnd = FE) -> torch.Tensor:
    """Linear STFT magnitude |X| [B, F, T]: the classifier's ONNX input."""
    return stft(wave, fe).abs()


def _hz_to_mel(f):
    return 2595.0 * np.log10(1.0 + np.asarray(f) / 700.0)


def _mel_to_hz(m):
    return 700.0 * (10.0 ** (np.asarray(m) / 2595.0) - 1.0)


def mel_filterbank(fe: FrontEnd = FE) -> np.ndarray:
    """Triangular HTK-scale mel filters [n_mels, freq_bins], each normalised to unit area (Slaney)."""
    freqs = np.linspace(0, fe.sample_rate / 2, fe.freq_bins)
    mel_pts = np.linspace(_hz_to_mel(fe.fmin), _hz_to_mel(fe.fmax), fe.n_mels + 2)
    hz = _mel_to_hz(mel_pts)
    fb = np.zeros((fe.n_mels, fe.freq_bins), dtype=np.float64)
    for m in range(fe.n_mels):
        lo, ce, hi = hz[m], hz[m + 1], hz[m + 2]
        up = (freqs - lo) / (ce - lo)
        down = (hi - freqs) / (hi - ce)
        fb[m] = np.maximum(0.0, np.minimum(up, down))
        fb[m] *= 2.0 / (hi - lo)
    return fb.astype(np.float32)


def mel_to_linear(fe: FrontEnd = FE) -> np.ndarray:
    """[freq_bins, n_mels] matrix that spreads a mel-resolution map back onto linear bins.

    Row f holds the (renormalised) weights of the mel filters that cover bin f, so a map that is
    constant over mel bands stays constant; bins outside [fmin, fmax] copy the nearest band.
    """
    fb = mel_filterbank(fe)
    shape = fb / np.maximum(fb.max(axis=1, keepdims=True), 1e-12)  # peak 1 per filter
    w = shape.T.copy()  # [F, M]
    s = w.sum(axis=1, keepdims=True)
    centres = np.argmax(shape, axis=1)
    for f in np.where(s[:, 0] < 1e-6)[0]:
        w[f, :] = 0.0
        w[f, int(np.argmin(np.abs(centres - f)))] = 1.0
    w = w / w.sum(axis=1, keepdims=True)
    return w.astype(np.float32)
