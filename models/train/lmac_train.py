"""Train an L-MAC explainer for your own (frozen, TorchScript) audio classifier and export an
lmac-bundle/1 folder the app loads.

    /usr/bin/python3 models/train/lmac_train.py --classifier model.pt --input waveform \\
        --sample-rate 16000 --window 16000 --labels labels.txt --audio DIR --out models/NAME \\
        [--csv labels.csv] [--n-fft 512 --hop 128] [--epochs N] [--max-minutes 30] [--resume]

The classifier is a black box: it takes one window (waveform [B, window] or linear STFT
magnitude [B, n_fft/2+1, window/hop+1]) and returns logits [B, C] (a tuple's first element is
taken). The decoder (lmac_model.py) sees only |X|, the classifier's logits and the target class.
Loss (shared/docs/methods.md): p_c·(λ_in CE(f(M⊙X), c) − λ_out min(CE(f((1−M)⊙X), c), cap))
+ λ_s mean(M); for a waveform classifier f(M⊙X) = f(ISTFT(M⊙X)). Inputs: the files' windows, 80 % of
them mixed at 0 dB with another window (or coloured noise); targets from the classifier's top-k
(or a random class). Files are split 90/10 by name hash; the 10 % are used for RESULTS.md only.
Exit code 2 with a one-line message for inputs that cannot work.
"""
import argparse
import csv
import hashlib
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import metrics  # noqa: E402
from common import write_fixture  # noqa: E402
from data import coloured_noise, mix_at_snr  # noqa: E402
from frontend import FrontEnd, istft, stft  # noqa: E402
from lmac_model import LmacDecoder, LmacDecoderConfig, count_params  # noqa: E402

ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
OPSET = 17
AUDIO_EXT = (".wav", ".flac", ".aif", ".aiff", ".ogg", ".mp3", ".au")


def fail(msg):
    print(f"error: {msg}", file=sys.stderr)
    sys.exit(2)


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description="Train an L-MAC mask decoder for a frozen TorchScript audio "
                                             "classifier and export an lmac-bundle/1 folder.")
    ap.add_argument("--classifier", required=True, help="TorchScript file (torch.jit.save) of the classifier")
    ap.add_argument("--input", required=True, choices=["waveform", "magnitude"],
                    help="what the classifier takes: waveform [B, window] or linear |STFT| [B, bins, frames]")
    ap.add_argument("--sample-rate", type=int, required=True)
    ap.add_argument("--window", type=int, required=True, help="window length in samples")
    ap.add_argument("--labels", required=True, help="text file, one class name per line (or a JSON list)")
    ap.add_argument("--audio", required=True, help="folder with your audio (searched recursively)")
    ap.add_argument("--csv", help="optional file,label CSV: used for the accuracy report only")
    ap.add_argument("--out", required=True, help="bundle folder, e.g. models/NAME")
    ap.add_argument("--name", help="bundle name (default: the --out folder's name)")
    ap.add_argument("--description", default="")
    ap.add_argument("--license", default="unspecified")
    ap.add_argument("--label-descriptions", help="JSON file {label: description}")
    ap.add_argument("--notes", help="a markdown file placed at the top of RESULTS.md")
    ap.add_argument("--fixture-dir", default=os.path.join(ROOT, "models", "fixtures"))
    ap.add_argument("--n-fft", type=int, default=512)
    ap.add_argument("--hop", type=int, default=128)
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--max-minutes", type=float, default=30.0, help="training wall-time budget (then export)")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--top-k", type=int, default=2)
    ap.add_argument("--lambda-in", type=float, default=4.0)
    ap.add_argument("--lambda-out", type=float, default=0.2)
    ap.add_argument("--lambda-sparsity", type=float, default=1.6)
    ap.add_argument("--max-windows-per-file", type=int, default=8)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--resume", action="store_true", help="continue from <out>/../ runs checkpoint")
    ap.add_argument("--export-only", action="store_true", help="skip training, export the checkpoint")
    return ap.parse_args(argv)


# --------------------------------------------------------------------------------------------- checks

def load_labels(path):
    if not os.path.exists(path):
        fail(f"--labels {path}: no such file")
    text = open(path, encoding="utf-8").read()
    try:
        labels = json.loads(text)
        if not isinstance(labels, list):
            raise ValueError
    except ValueError:
        labels = [ln.strip() for ln in text.splitlines() if ln.strip()]
    if not labels:
        fail(f"--labels {path}: no labels in the file")
    return [str(x) for x in labels]


def first_output(out):
    return out[0] if isinstance(out, (tuple, list)) else out


def probe(model, kind, fe):
    """Runs the classifier on zeros of the input shape; returns (logits shape or None, error text)."""
    shape = (2, fe.window_samples) if kind == "waveform" else (2, fe.freq_bins, fe.frames)
    try:
        with torch.no_grad():
            out = first_output(model(torch.rand(shape) * 0.01))
        return tuple(out.shape), None
    except Exception as e:  # noqa: BLE001 - any failure means the shape is wrong
        return None, str(e).strip().splitlines()[-1][:200] if str(e).strip() else type(e).__name__


def shape_text(kind, fe):
    return f"[B, {fe.window_samples}]" if kind == "waveform" else f"[B, {fe.freq_bins}, {fe.frames}]"


def check_classifier(args, fe, labels):
    if not os.path.exists(args.classifier):
        fail(f"--classifier {args.classifier}: no such file")
    try:
        model = torch.jit.load(args.classifier, map_location="cpu").eval()
    except Exception as e:  # noqa: BLE001
        fail(f"--classifier {args.classifier}: not a TorchScript file ({type(e).__name__})")
    for p in model.parameters():
        p.requires_grad_(False)
    shp, err = probe(model, args.input, fe)
    if err is not None:
        hint = ""
        other = "magnitude" if args.input == "waveform" else "waveform"
        if probe(model, other, fe)[1] is None:
            hint = f"; it accepts {other} {shape_text(other, fe)}: use --input {other}"
        else:
            for w in (8000, 16000, 22050, 32000, 44100, 48000, 80000, 160000, 220500):
                fe2 = FrontEnd(fe.sample_rate, w, fe.n_fft, fe.n_fft, fe.hop_length)
                for k in (args.input, other):
                    if probe(model, k, fe2)[1] is None:
                        hint = f"; it accepts {k} {shape_text(k, fe2)}: use --input {k} --window {w}"
                        break
                if hint:
                    break
        fail(f"the classifier rejects --input {args.input} {shape_text(args.input, fe)} "
             f"(--window {args.window}, --n-fft {args.n_fft}, --hop {args.hop}): {err}{hint}")
    if len(shp) != 2 or shp[0] != 2:
        fail(f"the classifier's output for --input {args.input} {shape_text(args.input, fe)} has shape "
             f"{list(shp)}, expected logits [B, C]; wrong --window or --input?")
    if shp[1] != len(labels):
        fail(f"--labels has {len(labels)} labels but the classifier returns {shp[1]} logits")
    return model


def decode_file(path, sr):
    """Mono float32 at sr via sox (any format sox reads); WAV via scipy if sox fails. None if undecodable."""
    try:
        raw = subprocess.run(["sox", path, "-t", "raw", "-e", "float", "-b", "32", "-c", "1", "-r", str(sr), "-"],
                             check=True, capture_output=True).stdout
        x = np.frombuffer(raw, dtype="<f4").copy()
        return x if len(x) else None
    except (subprocess.CalledProcessError, FileNotFoundError):
        pass
    if path.lower().endswith(".wav"):
        try:
            from scipy.io import wavfile
            from scipy.signal import resample_poly
            rate, x = wavfile.read(path)
            x = x.astype(np.float32) / (32768.0 if x.dtype == np.int16 else 1.0)
            x = x.mean(axis=1) if x.ndim == 2 else x
            if rate != sr:
                g = math.gcd(rate, sr)
                x = resample_poly(x, sr // g, rate // g).astype(np.float32)
            return x if len(x) else None
        except Exception:  # noqa: BLE001
            return None
    return None


def windows_of(x, n, max_windows):
    """Non-overlapping windows; the last partial one zero-padded when >= n/4 (or the only one)."""
    out = []
    for s in range(0, max(1, len(x)), n):
        seg = x[s:s + n]
        if len(seg) < n // 4 and out:
            break
        w = np.zeros(n, dtype=np.float32)
        w[:len(seg)] = seg
        out.append(w)
        if len(out) >= max_windows:
            break
    return out


def load_audio(args):
    if not os.path.isdir(args.audio):
        fail(f"--audio {args.audio}: not a folder")
    files = sorted(os.path.join(d, f) for d, _, fs in os.walk(args.audio) for f in fs)
    cand = [f for f in files if f.lower().endswith(AUDIO_EXT)] or files
    waves, owners, names, bad = [], [], [], 0
    for f in cand:
        x = decode_file(f, args.sample_rate)
        if x is None or float(np.abs(x).max()) < 1e-6:
            bad += 1
            continue
        rel = os.path.relpath(f, args.audio)
        for w in windows_of(x, args.window, args.max_windows_per_file):
            waves.append(w); owners.append(len(names))
        names.append(rel)
    if not names:
        fail(f"--audio {args.audio}: no decodable audio file ({len(cand)} tried; wav/flac/aiff/ogg/mp3 through sox)")
    held = np.array([int(hashlib.sha1(n.encode()).hexdigest(), 16) % 10 == 0 for n in names])
    if len(names) >= 2 and not held.any():
        held[-1] = True
    if held.all():
        held[0] = False
    owners = np.array(owners)
    print(f"audio: {len(names)} files ({bad} undecodable or silent skipped), {len(waves)} windows; "
          f"{int(held.sum())} files held out for the report", flush=True)
    return np.stack(waves), owners, names, held


# --------------------------------------------------------------------------------------------- model glue

class Black:
    """The frozen classifier as f(X complex) for masked inputs, with the bundle's DSP conventions."""

    def __init__(self, model, kind, fe):
        self.model, self.kind, self.fe = model, kind, fe

    def raw(self, wave=None, mag=None):
        return first_output(self.model(wave if self.kind == "waveform" else mag))

    def masked(self, spec, mask):
        """logits of f on M⊙X (spec complex [B, F, T], mask [B, F, T])."""
        if self.kind == "waveform":
            return first_output(self.model(istft(spec * mask, self.fe.window_samples, self.fe)))
        return first_output(self.model(mask * spec.abs()))

    @torch.no_grad()
    def logits(self, waves, bs=64):
        out = []
        for i in range(0, len(waves), bs):
            w = torch.as_tensor(waves[i:i + bs])
            out.append(self.raw(w, stft(w, self.fe).abs()))
        return torch.cat(out)


def make_batch(waves, idx, rng, g):
    """80 %: 0 dB mixture with another window (or, 30 % of those, coloured noise); 20 % clean."""
    x = torch.from_numpy(waves[idx])
    b = len(idx)
    other = torch.from_numpy(waves[rng.integers(0, len(waves), b)])
    noise = coloured_noise(b, x.shape[1], g)
    other = torch.where(torch.rand(b, 1, generator=g) < 0.3, noise, other)
    mixed = mix_at_snr(x, other, torch.zeros(b))
    mixed = mixed * (x.abs().amax(1, keepdim=True) / mixed.abs().amax(1, keepdim=True).clamp_min(1e-6))
    return torch.where(torch.rand(b, 1, generator=g) < 0.2, x, mixed)


def pick_targets(p, k, g):
    b, n = p.shape
    top = p.topk(min(k, n), dim=1).indices
    choice = top[torch.arange(b), torch.randint(0, top.shape[1], (b,), generator=g)]
    rnd = torch.randint(0, n, (b,), generator=g)
    return torch.where(torch.rand(b, generator=g) < 0.25, rnd, choice)


# --------------------------------------------------------------------------------------------- training

def train(args, black, fe, labels, waves, train_idx, run_dir):
    torch.manual_seed(args.seed)
    g = torch.Generator(); g.manual_seed(args.seed)
    dec = LmacDecoder(LmacDecoderConfig(n_classes=len(labels)))
    opt = torch.optim.Adam(dec.parameters(), lr=args.lr)
    steps_per_epoch = max(1, math.ceil(len(train_idx) / args.batch))
    ckpt = os.path.join(run_dir, "ckpt.pt")
    epoch, step0, wall = 0, 0, 0.0
    if args.resume and os.path.exists(ckpt):
        st = torch.load(ckpt)
        dec.load_state_dict(st["model"]); opt.load_state_dict(st["opt"]); g.set_state(st["gen"])
        epoch, step0, wall = st["epoch"], st["step"], st["wall"]
        print(f"resumed at epoch {epoch + 1} step {step0} ({wall / 60:.1f} min trained)", flush=True)
    elif os.path.exists(ckpt) and not args.resume:
        os.remove(ckpt)
    log = open(os.path.join(run_dir, "log.jsonl"), "a")
    total = args.epochs * steps_per_epoch
    budget = args.max_minutes * 60

    def save(ep, st):
        torch.save({"model": dec.state_dict(), "opt": opt.state_dict(), "gen": g.get_state(), "epoch": ep,
                    "step": st, "wall": wall, "config": dec.cfg.__dict__}, ckpt + ".tmp")
        os.replace(ckpt + ".tmp", ckpt)

    print(f"decoder: {count_params(dec):,} parameters; {len(train_idx)} training windows, "
          f"{steps_per_epoch} steps/epoch, up to {args.epochs} epochs or {args.max_minutes:g} min", flush=True)
    stopped = False
    while epoch < args.epochs and not stopped:
        order = np.random.default_rng([args.seed, epoch]).permutation(train_idx)
        agg, n, t_ep = np.zeros(4), 0, time.time()
        for step in range(step0, steps_per_epoch):
            t0 = time.time()
            s = epoch * steps_per_epoch + step
            for pg in opt.param_groups:
                pg["lr"] = args.lr * 0.5 * (1 + math.cos(math.pi * min(1.0, s / total)))
            idx = order[step * args.batch:(step + 1) * args.batch]
            rng = np.random.default_rng([args.seed, epoch, step])
            x = make_batch(waves, idx, rng, g)
            spec = stft(x, fe)
            mag = spec.abs()
            with torch.no_grad():
                logits = black.raw(x, mag)
                p = logits.softmax(1)
            target = pick_targets(p, args.top_k, g)
            w = p.gather(1, target[:, None])[:, 0]
            dec.train()
            mask = dec(mag, logits, target)
            b = len(idx)
            out = black.masked(torch.cat([spec, spec]), torch.cat([mask, 1 - mask]))
            ce_in = F.cross_entropy(out[:b], target, reduction="none")
            ce_out = F.cross_entropy(out[b:], target, reduction="none").clamp_max(8.0)
            mm = mask.mean(dim=(1, 2))
            loss = (w * (args.lambda_in * ce_in - args.lambda_out * ce_out) + args.lambda_sparsity * mm).mean()
            opt.zero_grad(); loss.backward(); opt.step()
            wall += time.time() - t0
            agg += np.array([loss.item(), ce_in.mean().item(), ce_out.mean().item(), mm.mean().item()]) * b; n += b
            if (step + 1) % 25 == 0:
                save(epoch, step + 1)
                print(json.dumps({"epoch": epoch + 1, "step": step + 1, "wall_min": round(wall / 60, 2),
                                  **dict(zip(["loss", "ce_in", "ce_out", "mask_mean"], np.round(agg / n, 4).tolist()))}),
                      flush=True)
            if wall > budget:
                save(epoch, step + 1)
                print(f"time budget of {args.max_minutes:g} min reached at epoch {epoch + 1} step {step + 1}", flush=True)
                stopped = True
                break
        if stopped:
            break
        rec = {"epoch": epoch + 1, "wall": round(wall, 1), "epoch_s": round(time.time() - t_ep, 1),
               **dict(zip(["loss", "ce_in", "ce_out", "mask_mean"], np.round(agg / max(n, 1), 4).tolist()))}
        log.write(json.dumps(rec) + "\n"); log.flush()
        print(json.dumps(rec), flush=True)
        epoch, step0 = epoch + 1, 0
        save(epoch, 0)
    return load_decoder(ckpt, len(labels))


def load_decoder(ckpt, n_classes):
    if not os.path.exists(ckpt):
        fail(f"no decoder checkpoint at {ckpt} (train first)")
    st = torch.load(ckpt)
    dec = LmacDecoder(LmacDecoderConfig(**st["config"]))
    dec.load_state_dict(st["model"])
    dec.eval()
    for p in dec.parameters():
        p.requires_grad_(False)
    return dec, st["wall"], st["epoch"], st["step"]


# --------------------------------------------------------------------------------------------- evaluation

def perturbation_masks(black, spec, target, fe, n=100, seg_ms=100, seed=1):
    """Segment-level perturbation explainer (as src/core/perturbation.ts, ridge λ = 1):
    mask per frame column = max(0, w)/max(w), constant over bins."""
    b, nf, nt = spec.shape
    seg = int(seg_ms * fe.sample_rate / 1000)
    frame_seg = np.minimum((np.arange(nt) * fe.hop_length) // seg, (fe.window_samples - 1) // seg)
    S = int(frame_seg.max()) + 1
    rng = np.random.default_rng(seed)
    Z = np.vstack([np.ones((1, S)), (rng.random((n, S)) < 0.5).astype(np.float64)])
    masks = []
    with torch.no_grad():
        for i in range(b):
            cols = torch.from_numpy(Z[:, frame_seg].astype(np.float32))  # [n+1, T]
            m = cols[:, None, :].expand(n + 1, nf, nt)
            ys = []
            for j in range(0, n + 1, 32):
                pr = black.masked(spec[i:i + 1].expand(len(m[j:j + 32]), -1, -1), m[j:j + 32]).softmax(1)
                pc = pr[:, target[i]].double().clamp(1e-6, 1 - 1e-6)
                ys.append(torch.log(pc / (1 - pc)))
            y = torch.cat(ys).numpy()
            X = np.hstack([np.ones((n + 1, 1)), Z])
            reg = np.eye(S + 1); reg[0, 0] = 0
            wgt = np.linalg.solve(X.T @ X + reg, X.T @ y)[1:]
            imp = np.maximum(0, wgt)
            imp = imp / imp.max() if imp.max() > 0 else imp
            masks.append(torch.from_numpy(imp[frame_seg].astype(np.float32))[None, :].expand(nf, nt))
    return torch.stack(masks)


def evaluate(args, black, dec, fe, labels, waves, owners, names, held, run_dir):
    ev_idx = np.nonzero(held[owners])[0]
    rng = np.random.default_rng(77)
    ev_idx = rng.permutation(ev_idx)[:200]
    g = torch.Generator(); g.manual_seed(5)
    res = {"evalWindows": int(len(ev_idx)), "evalFiles": int(held.sum())}
    faith = {}
    n_pert = min(len(ev_idx), 60)
    for kind in ("clean", "mixed"):
        rows = {k: [] for k in ("L-MAC", "all-ones", "random (equal mean)", "perturbation (100 ms, 100 masks)")}
        for i in range(0, len(ev_idx), 20):
            idx = ev_idx[i:i + 20]
            x = torch.from_numpy(waves[idx]) if kind == "clean" else make_batch(waves, idx, np.random.default_rng([9, i]), g)
            spec = stft(x, fe); mag = spec.abs()
            with torch.no_grad():
                logits = black.raw(x, mag)
                p = logits.softmax(1); c = p.argmax(1)
                ml = dec(mag, logits, c)
                mean = ml.mean(dim=(1, 2), keepdim=True)
                masks = {"L-MAC": ml, "all-ones": torch.ones_like(mag),
                         "random (equal mean)": (torch.rand(mag.shape, generator=g) * 2 * mean).clamp(0, 1)}
            if i < n_pert:
                masks["perturbation (100 ms, 100 masks)"] = perturbation_masks(black, spec, c, fe)
            for name, m in masks.items():
                with torch.no_grad():
                    q = black.masked(spec, m).softmax(1); r = black.masked(spec, 1 - m).softmax(1)
                rows[name].append(metrics.per_example(p, q, r, c, m))
        faith[kind] = {k: metrics.average(v) for k, v in rows.items() if v}
    res["faithfulness"] = faith
    # mask mean: predicted class vs classes with p < 1 %
    top, low = [], []
    with torch.no_grad():
        for i in range(0, len(ev_idx), 25):
            x = torch.from_numpy(waves[ev_idx[i:i + 25]])
            mag = stft(x, fe).abs(); logits = black.raw(x, mag); p = logits.softmax(1)
            top.append(dec(mag, logits, p.argmax(1)).mean(dim=(1, 2)))
            for c in range(len(labels)):
                ok = p[:, c] < 0.01
                if ok.any():
                    low.append(dec(mag, logits, torch.full((len(x),), c))[ok].mean(dim=(1, 2)))
    res["maskMeanPredicted"] = float(torch.cat(top).mean())
    res["maskMeanUnlikely"] = float(torch.cat(low).mean()) if low else float("nan")
    # classification report from --csv (file-level: mean softmax over the file's windows)
    if args.csv:
        lab = {}
        with open(args.csv, newline="") as fh:
            for row in csv.reader(fh):
                if len(row) >= 2 and row[1] in labels:
                    lab[os.path.normpath(row[0])] = labels.index(row[1])
        probs = black.logits(waves).softmax(1).numpy()
        y, yh, part = [], [], []
        for fi, nm in enumerate(names):
            key = os.path.normpath(nm)
            if key not in lab and os.path.basename(key) in lab:
                key = os.path.basename(key)
            if key in lab:
                y.append(lab[key]); yh.append(int(probs[owners == fi].mean(0).argmax())); part.append(bool(held[fi]))
        y, yh, part = np.array(y), np.array(yh), np.array(part)
        if len(y):
            res["csv"] = {"files": int(len(y)), "accuracy": float((y == yh).mean()),
                          "perClass": {labels[c]: {"acc": float((yh[y == c] == c).mean()), "n": int((y == c).sum())}
                                       for c in range(len(labels)) if (y == c).any()}}
    # speed (PyTorch, 1 thread, one window)
    x = torch.from_numpy(waves[:1]); mag = stft(x, fe).abs()
    with torch.no_grad():
        t0 = time.time()
        for _ in range(10):
            lg = black.raw(x, mag)
        t1 = time.time()
        for _ in range(10):
            dec(mag, lg, lg.argmax(1))
        t2 = time.time()
    res["torchMsPerWindow"] = {"classifier": (t1 - t0) * 100, "decoder": (t2 - t1) * 100}
    return res


# --------------------------------------------------------------------------------------------- export

def test_signal(fe, seed=7):
    """A deterministic test window: a chirp, a harmonic tone, noise bursts and clicks."""
    rng = np.random.default_rng(seed)
    t = np.arange(fe.window_samples) / fe.sample_rate
    dur = t[-1] + 1 / fe.sample_rate
    chirp = 0.2 * np.sin(2 * np.pi * (100 * t + 0.5 * (fe.sample_rate / 4) / dur * t ** 2))
    tone = sum(0.1 / k * np.sin(2 * np.pi * 330 * k * t) for k in range(1, 6)) * (t > 0.3 * dur) * (t < 0.7 * dur)
    bursts = 0.2 * rng.standard_normal(len(t)) * np.exp(-((t % (dur / 4)) / 0.02))
    clicks = np.zeros_like(t); clicks[(np.arange(6) * 7919) % len(t)] = 0.8
    return (chirp + tone + bursts + clicks).astype(np.float32)


class ClassifierOnnx(torch.nn.Module):
    def __init__(self, m):
        super().__init__()
        self.m = m

    def forward(self, x):
        return first_output(self.m(x))


def run_onnx(model_file, inputs):
    from export import run_onnx as _run  # onnxruntime-node via models/train/onnx_run.mjs
    return _run(model_file, inputs)


def sha256(path):
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


def export(args, model, dec, fe, labels, out_dir, name):
    kind = args.input
    cls_file, dec_file = os.path.join(out_dir, "classifier.onnx"), os.path.join(out_dir, "decoder.onnx")
    sig = torch.from_numpy(test_signal(fe))
    rnd = torch.from_numpy(np.random.default_rng(1).standard_normal((2, fe.window_samples)).astype(np.float32) * 0.1)
    x = torch.cat([sig[None], rnd])
    spec = stft(x, fe); mag = spec.abs()
    inp = x if kind == "waveform" else mag
    with torch.no_grad():
        single = not isinstance(model(inp[:2]), (tuple, list))
    # a ScriptModule exports directly; one returning a tuple is wrapped to keep its first output
    torch.onnx.export(model if single else ClassifierOnnx(model).eval(), (inp[:2],), cls_file, opset_version=OPSET,
                      input_names=[kind], output_names=["logits"],
                      dynamic_axes={kind: {0: "batch"}, "logits": {0: "batch"}})
    with torch.no_grad():
        logits = first_output(model(inp))
        target = torch.cat([logits[:1].argmax(1), torch.tensor([1 % len(labels), (len(labels) - 1)])])
        mask = dec(mag, logits, target)
        masked_in = istft(spec[:1] * mask[:1], fe.window_samples, fe)[0]
    torch.onnx.export(dec, (mag[:2], logits[:2], target[:2]), dec_file, opset_version=OPSET,
                      input_names=["magnitude", "logits", "target"], output_names=["mask"],
                      dynamic_axes={"magnitude": {0: "batch"}, "logits": {0: "batch"}, "target": {0: "batch"},
                                    "mask": {0: "batch"}})
    o_cls = run_onnx(cls_file, [(kind, inp.numpy())])
    o_dec = run_onnx(dec_file, [("magnitude", mag.numpy()), ("logits", logits.numpy()), ("target", target.numpy())])
    diffs = {"logits": float(np.abs(o_cls["logits"] - logits.numpy()).max()),
             "mask": float(np.abs(o_dec["mask"] - mask.numpy()).max())}
    print("ONNX vs PyTorch max abs diff (batch 3):", json.dumps(diffs), flush=True)
    bad = {k: v for k, v in diffs.items() if v > 1e-4}
    if bad:
        fail(f"ONNX parity failed (> 1e-4): {bad}")
    # parity fixture
    os.makedirs(args.fixture_dir, exist_ok=True)
    fx = os.path.join(args.fixture_dir, f"{name}-parity")
    arrays = [("signal", sig.numpy()), ("magnitude", mag[0].numpy()), ("logits", logits[0].numpy()),
              ("mask", mask[0].numpy()), ("maskedIn", masked_in.numpy())]
    write_fixture(fx, arrays, {"description": f"PyTorch reference for models/{name} on a generated test window "
                              "(models/train/lmac_train.py test_signal): the classifier input is "
                              f"{'signal' if kind == 'waveform' else 'magnitude'}; mask for target; maskedIn = "
                              "ISTFT(mask ⊙ STFT(signal)), length windowSamples; float32 little-endian arrays in the .bin",
               "bundle": os.path.relpath(out_dir, ROOT), "inputKind": kind, "target": int(target[0]),
               "onnxMaxAbsDiff": diffs})
    return cls_file, dec_file, diffs, fx


def write_manifest(args, out_dir, name, fe, labels, cls_file, dec_file, model, dec, results):
    man = {"format": "lmac-bundle/1", "name": name,
           "description": args.description or f"{name}: a user classifier with an L-MAC decoder (lmac_train.py)",
           "license": args.license, **fe.manifest_fields(), "labels": labels}
    if args.label_descriptions:
        man["labelDescriptions"] = json.load(open(args.label_descriptions))
    man["classifier"] = {"file": "classifier.onnx", "sha256": sha256(cls_file), "inputKind": args.input,
                         "input": args.input, "logits": "logits", "hidden": [],
                         "parameters": int(sum(p.numel() for p in model.parameters()))}
    man["decoder"] = {"file": "decoder.onnx", "sha256": sha256(dec_file), "hidden": [], "magnitude": "magnitude",
                      "logits": "logits", "target": "target", "mask": "mask", "parameters": count_params(dec)}
    man["opset"] = OPSET
    man["results"] = results
    json.dump(man, open(os.path.join(out_dir, "manifest.json"), "w"), indent=1)


def fmt(v, k):
    return f"{v:.2f}" if k in ("AI", "AD", "AG", "COMP") else f"{v:.3f}"


def write_results(args, out_dir, name, res, fe, labels, cmd):
    L = []; w = L.append
    w(f"# models/{name} — L-MAC results\n")
    if args.notes and os.path.exists(args.notes):
        w(open(args.notes).read().rstrip() + "\n")
    w("## L-MAC decoder (`models/train/lmac_train.py`)\n")
    w(f"Command: `{cmd}`\n")
    w(f"Machine: {platform.machine()}, {os.cpu_count()} cores, no GPU; PyTorch {torch.__version__}, "
      f"{args.threads} thread(s). Classifier input: {args.input} {shape_text(args.input, fe)}; STFT n_fft "
      f"{fe.n_fft}, hop {fe.hop_length} → mask [B, {fe.freq_bins}, {fe.frames}]. Held-out files: {res['evalFiles']} "
      f"({res['evalWindows']} windows) never used in training.\n")
    w(f"Training: {res['decoderEpochs']} epoch(s) (+{res['decoderSteps']} steps), wall time "
      f"**{res['decoderTrainWallS'] / 60:.1f} min**; decoder {res['decoderParams']:,} parameters. "
      f"ONNX vs PyTorch max abs diff: logits {res['onnxMaxAbsDiff']['logits']:.2e}, mask {res['onnxMaxAbsDiff']['mask']:.2e}.\n")
    keys = ["AI", "AD", "AG", "FF", "Fid-In", "SPS", "COMP", "MM"]
    for kind, title in (("clean", "held-out windows, clean"), ("mixed", "held-out windows, 0 dB mixtures with another window or coloured noise (80 %) / clean (20 %)")):
        w(f"### Faithfulness — {title}\n")
        w("Target = the classifier's top class. Definitions: `shared/docs/methods.md` (AI, AG, FF, Fid-In, SPS "
          "higher is better; AD, COMP lower is better). The perturbation baseline runs on the first 60 windows "
          "only; its mask is constant over frequency.\n")
        w("| method | " + " | ".join(keys) + " |"); w("|---|" + "---|" * len(keys))
        for nm, v in res["faithfulness"][kind].items():
            w(f"| {nm} | " + " | ".join(fmt(v[k], k) for k in keys) + " |")
        w("")
    ratio = res["maskMeanUnlikely"] / max(res["maskMeanPredicted"], 1e-9)
    w("### Does the mask follow the target class?\n")
    w(f"Mean mask on clean held-out windows: predicted class **{res['maskMeanPredicted']:.4f}**, every class with "
      f"p < 1 % **{res['maskMeanUnlikely']:.4f}** (ratio **{ratio:.3f}**; target ≤ 0.3).\n")
    if "csv" in res:
        c = res["csv"]
        w(f"### Classifier on the --csv files (file level, mean softmax over windows)\n")
        w(f"Accuracy {100 * c['accuracy']:.1f} % on {c['files']} labelled files (training and held-out files alike).\n")
        w("| class | accuracy | files |"); w("|---|---|---|")
        for k, v in c["perClass"].items():
            w(f"| {k} | {100 * v['acc']:.1f} % | {v['n']} |")
        w("")
    t = res["torchMsPerWindow"]; s = res["sizes"]
    w("### Size and speed\n")
    w("| part | ONNX file | PyTorch CPU, 1 window, 1 thread |"); w("|---|---|---|")
    w(f"| classifier | {s['classifier.onnx'] / 1e6:.2f} MB | {t['classifier']:.1f} ms |")
    w(f"| decoder | {s['decoder.onnx'] / 1e6:.2f} MB | {t['decoder']:.1f} ms |")
    open(os.path.join(out_dir, "RESULTS.md"), "w").write("\n".join(L) + "\n")


def main(argv=None):
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.window <= 0 or args.window < args.n_fft:
        fail(f"--window {args.window} must be at least --n-fft {args.n_fft} samples")
    if args.hop <= 0 or args.hop > args.n_fft:
        fail(f"--hop {args.hop} must be in 1..{args.n_fft}")
    fe = FrontEnd(sample_rate=args.sample_rate, window_samples=args.window, n_fft=args.n_fft,
                  win_length=args.n_fft, hop_length=args.hop)
    labels = load_labels(args.labels)
    model = check_classifier(args, fe, labels)
    out_dir = os.path.abspath(args.out)
    name = args.name or os.path.basename(out_dir.rstrip("/"))
    run_dir = os.path.join(HERE, "runs", f"lmac-{name}")
    os.makedirs(run_dir, exist_ok=True); os.makedirs(out_dir, exist_ok=True)
    waves, owners, names, held = load_audio(args)
    black = Black(model, args.input, fe)
    train_idx = np.nonzero(~held[owners])[0]
    ckpt = os.path.join(run_dir, "ckpt.pt")
    if args.export_only:
        dec, wall, ep, st = load_decoder(ckpt, len(labels))
    else:
        dec, wall, ep, st = train(args, black, fe, labels, waves, train_idx, run_dir)
    print("evaluating on held-out files ...", flush=True)
    res = evaluate(args, black, dec, fe, labels, waves, owners, names, held, run_dir)
    cls_file, dec_file, diffs, fx = export(args, model, dec, fe, labels, out_dir, name)
    res.update({"decoderTrainWallS": wall, "decoderEpochs": ep, "decoderSteps": st, "decoderParams": count_params(dec),
                "onnxMaxAbsDiff": diffs,
                "sizes": {f: os.path.getsize(os.path.join(out_dir, f)) for f in ("classifier.onnx", "decoder.onnx")}})
    json.dump(res, open(os.path.join(run_dir, "results.json"), "w"), indent=1)
    summary = {"maskMeanPredicted": round(res["maskMeanPredicted"], 4), "maskMeanUnlikely": round(res["maskMeanUnlikely"], 4),
               "lmacFidInClean": round(res["faithfulness"]["clean"]["L-MAC"]["Fid-In"], 3),
               "decoderTrainMinutes": round(wall / 60, 1)}
    if "csv" in res:
        summary["accuracy"] = round(res["csv"]["accuracy"], 4)
    write_manifest(args, out_dir, name, fe, labels, cls_file, dec_file, model, dec, summary)
    cmd = "/usr/bin/python3 models/train/lmac_train.py " + " ".join(
        a if not os.path.isabs(a) else os.path.relpath(a, ROOT) if a.startswith(ROOT) else a for a in sys.argv[1:])
    write_results(args, out_dir, name, res, fe, labels, cmd)
    print(f"wrote {out_dir} (manifest.json, classifier.onnx, decoder.onnx, RESULTS.md) and {fx}.{{json,bin}}", flush=True)
    print(json.dumps(summary), flush=True)


if __name__ == "__main__":
    main()
