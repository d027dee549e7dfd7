"""Drum data: one-shot samples of Debian's hydrogen-drumkits (+ a drum synthesiser as one extra
kit), mapped to 7 classes by instrument-name rules, and a generator of labelled 1 s windows.

Samples are decoded once with the `sox` CLI (wav/flac/aiff -> 16 kHz mono) into
models/train/cache/drums_<hash>.npz (git-ignored); nothing of them enters the repo.
The synthesiser (DrumSynth, render_drum_loop) is the twin of src/core/drumSynth.ts: the same
mulberry32 stream, the same draws in the same order (checked by tests in lmac workflow,
`python3 models/train/drums_data.py --check-ts`).
"""
import argparse
import hashlib
import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

import numpy as np
from scipy.signal import lfilter

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
KITS_DIR = "/usr/share/hydrogen/data/drumkits"
CACHE_DIR = os.path.join(HERE, "cache")
RATE = 16000
WINDOW = 16000

CLASSES = ["kick", "snare", "hihat", "tom", "cymbal", "clap", "perc"]
DESCRIPTIONS = {"kick": "bass drum", "snare": "snare drum (incl. rimshot)",
                "hihat": "hi-hat: closed, open, pedal", "tom": "tom-toms (high, mid, low, floor)",
                "cymbal": "crash, ride, splash, china", "clap": "hand clap",
                "perc": "small percussion: side stick / rim click, cowbell, tambourine, agogo, clave, woodblock"}
# Whole kits held out. "The Black Pearl 1.0" and "Audiophob" cover all 7 classes.
TEST_KITS = ["The Black Pearl 1.0", "Audiophob"]
VAL_KITS = ["rumpf_kit_z01_h2"]
# Excluded: circAfrique v4 (djembe/dunun strokes fit no class).
SKIP_KITS = ["circAfrique v4"]

# name rules, first match wins (lower-case instrument name); None = not used
RULES = [
    (r"roll|choke flink|whistle|zap|fx|conga|cajon|bongo|maraca|snap|waterglass|click$|^drum|vari.*drum|sample:|redo", None),
    (r"side ?stick|stick|rim ?click|cowbell|tambourine|agogo|clave|woodblock", "perc"),
    (r"kick|bass ?drum|^bd|bassdrum", "kick"),
    (r"snare", "snare"),
    (r"hh|hat", "hihat"),
    (r"tom", "tom"),
    (r"crash|ride|splash|china|cymbal|bell", "cymbal"),
    (r"clap", "clap"),
]


def classify_name(name: str):
    n = (name or "").strip().lower()
    if not n:
        return None
    for pat, cls in RULES:
        if re.search(pat, n):
            return cls
    return None


def _ns(tag):
    m = re.match(r"\{.*\}", tag)
    return m.group(0) if m else ""


def read_kit(kit: str):
    """(author, license, [(instrument name, class, [file paths])]) from a kit's drumkit.xml."""
    root = ET.parse(os.path.join(KITS_DIR, kit, "drumkit.xml")).getroot()
    ns = _ns(root.tag)
    out = []
    for ins in root.iter(ns + "instrument"):
        name = ins.findtext(ns + "name") or ""
        files = [f.text for f in ins.iter(ns + "filename") if f.text]
        cls = classify_name(name)
        files = [os.path.join(KITS_DIR, kit, f) for f in dict.fromkeys(files)]
        files = [f for f in files if os.path.exists(f)]
        if cls and files:
            out.append((name, cls, files))
    return root.findtext(ns + "author"), root.findtext(ns + "license"), out


def decode(path: str, max_s: float = 2.0) -> np.ndarray:
    """Any sox-readable file -> float32 mono 16 kHz, at most max_s seconds, leading silence kept."""
    raw = subprocess.run(["sox", path, "-t", "raw", "-e", "signed", "-b", "16", "-c", "1", "-r", str(RATE), "-",
                          "trim", "0", str(max_s)], check=True, capture_output=True).stdout
    return np.frombuffer(raw, dtype="<i2").astype(np.float32) / 32768.0


@dataclass
class Sample:
    kit: str
    instrument: str
    cls: int
    wave: np.ndarray  # peak-normalised, onset-trimmed


@dataclass
class DrumLibrary:
    samples: list = field(default_factory=list)
    kits: dict = field(default_factory=dict)  # kit -> {author, license, counts}

    def split(self, kits):
        return [s for s in self.samples if s.kit in kits]


def _trim(x: np.ndarray) -> np.ndarray:
    """Drops leading samples below −40 dB of the peak, normalises to peak 1."""
    peak = float(np.abs(x).max()) if len(x) else 0.0
    if peak < 1e-4:
        return None
    x = x / peak
    start = int(np.argmax(np.abs(x) >= 0.01))
    return x[max(0, start - 16):].astype(np.float32)


def load_library() -> DrumLibrary:
    kits = sorted(k for k in os.listdir(KITS_DIR) if os.path.exists(os.path.join(KITS_DIR, k, "drumkit.xml"))
                  and k not in SKIP_KITS)
    key = hashlib.sha1(json.dumps([kits, RULES]).encode()).hexdigest()[:10]
    cache = os.path.join(CACHE_DIR, f"drums_{key}.npz")
    lib = DrumLibrary()
    if os.path.exists(cache):
        z = np.load(cache, allow_pickle=True)
        meta = json.loads(str(z["meta"]))
        lib.kits = meta["kits"]
        for i, (kit, ins, cls) in enumerate(meta["samples"]):
            lib.samples.append(Sample(kit, ins, cls, z[f"w{i}"]))
        return lib
    waves, meta = {}, []
    for kit in kits:
        author, lic, instruments = read_kit(kit)
        counts = {c: 0 for c in CLASSES}
        for name, cls, files in instruments:
            for f in files:
                try:
                    w = _trim(decode(f))
                except subprocess.CalledProcessError:
                    print(f"skip (sox cannot decode): {f}", file=sys.stderr)
                    continue
                if w is None:
                    continue
                waves[f"w{len(meta)}"] = w
                meta.append((kit, name, CLASSES.index(cls)))
                counts[cls] += 1
        lib.kits[kit] = {"author": author, "license": lic, "counts": counts}
    os.makedirs(CACHE_DIR, exist_ok=True)
    np.savez(cache, meta=json.dumps({"kits": lib.kits, "samples": meta}), **waves)
    return load_library()


# ---------------------------------------------------------------------------------------------
# The synthesiser: a port of src/core/drumSynth.ts (same draws, same order).

class Mulberry32:
    """mulberry32 as src/core/perturbation.ts; the k-th output depends only on seed + k·const, so
    take(n) is vectorised."""

    def __init__(self, seed: int):
        self.a = seed & 0xFFFFFFFF

    def take(self, n: int) -> np.ndarray:
        k = np.arange(1, n + 1, dtype=np.uint64)
        a = ((self.a + k * 0x6D2B79F5) & 0xFFFFFFFF).astype(np.uint32)
        self.a = int(a[-1]) if n else self.a
        with np.errstate(over="ignore"):
            t = a.copy()
            t = (t ^ (t >> np.uint32(15))) * (t | np.uint32(1))
            t = t ^ (t + (t ^ (t >> np.uint32(7))) * (t | np.uint32(61)))
            t = t ^ (t >> np.uint32(14))
        return t.astype(np.float64) / 4294967296.0

    def __call__(self) -> float:
        return float(self.take(1)[0])


HIT_SECONDS = {"kick": 0.7, "snare": 0.6, "hihat": 0.6, "tom": 0.9, "cymbal": 1.6, "clap": 0.5, "perc": 0.5}


def _high_pass(x, hz, rate):
    rc = 1 / (2 * np.pi * hz)
    a = rc / (rc + 1 / rate)
    return lfilter([a, -a], [1.0, -a], x)


def render_drum_hit(instrument: str, rand: Mulberry32, rate: int = RATE) -> np.ndarray:
    """One synthesised hit (peak 1), float64; see renderDrumHit in src/core/drumSynth.ts."""
    n = int(round(HIT_SECONDS.get(instrument, 0.5) * rate))
    t = np.arange(n) / rate
    TAU = 2 * np.pi
    r = rand
    if instrument == "kick":
        f0, f1, tp, ta = 120 + 80 * r(), 40 + 20 * r(), 0.02 + 0.03 * r(), 0.12 + 0.2 * r()
        click = 0.2 + 0.3 * r()
        nz = 2 * rand.take(n) - 1
        phase = np.cumsum(TAU * (f1 + (f0 - f1) * np.exp(-t / tp)) / rate)
        x = np.sin(phase) * np.exp(-t / ta) + click * nz * np.exp(-t / 0.002)
    elif instrument == "snare":
        ft, tt, tn, mix = 160 + 90 * r(), 0.04 + 0.06 * r(), 0.08 + 0.14 * r(), 0.3 + 0.4 * r()
        hp = 1000 + 2000 * r()
        nz = _high_pass(2 * rand.take(n) - 1, hp, rate)
        x = mix * np.sin(TAU * ft * t) * np.exp(-t / tt) + (1 - mix) * nz * np.exp(-t / tn)
    elif instrument == "hihat":
        is_open = r() < 0.3
        u = r()
        tau = 0.15 + 0.25 * u if is_open else 0.015 + 0.04 * u
        hp = 6000 + 1500 * r()
        nz = _high_pass(_high_pass(2 * rand.take(n) - 1, hp, rate), hp, rate)
        x = nz * np.exp(-t / tau)
    elif instrument == "tom":
        f0, drop, tp, ta = 80 + 220 * r(), 0.1 + 0.3 * r(), 0.03 + 0.07 * r(), 0.15 + 0.3 * r()
        phase = np.cumsum(TAU * f0 * (1 + drop * np.exp(-t / tp)) / rate)
        x = np.sin(phase) * np.exp(-t / ta)
    elif instrument == "cymbal":
        tau, hp = 0.4 + 0.8 * r(), 3000 + 3000 * r()
        partials = [3000 + 5000 * r() for _ in range(6)]
        nz = _high_pass(2 * rand.take(n) - 1, hp, rate)
        ring = sum(np.sin(TAU * p * t) for p in partials)
        x = (0.7 * nz + (0.3 / 6) * ring) * np.exp(-t / tau)
    elif instrument == "clap":
        bursts, gap, tau = 3 + int(np.floor(3 * r())), 0.006 + 0.006 * r(), 0.05 + 0.1 * r()
        hp = 800 + 1200 * r()
        nz = _high_pass(2 * rand.take(n) - 1, hp, rate)
        tb = (bursts - 1) * gap
        env = np.zeros(n)
        for k in range(bursts):
            env = np.where(t >= k * gap, np.maximum(env, np.exp(-(t - k * gap) / 0.004)), env)
        env = np.where(t >= tb, np.maximum(env, 0.7 * np.exp(-(t - tb) / tau)), env)
        x = nz * env
    else:
        f1, tau = 500 + 150 * r(), 0.05 + 0.12 * r()
        x = 0.5 * (np.tanh(3 * np.sin(TAU * f1 * t)) + np.tanh(3 * np.sin(TAU * 1.48 * f1 * t))) * np.exp(-t / tau)
    peak = np.abs(x).max()
    return x / peak if peak > 0 else x


def envelope_end(x: np.ndarray) -> int:
    idx = np.nonzero(np.abs(x) >= 0.01)[0]
    return int(idx[-1]) + 1 if len(idx) else 0


def render_drum_loop(seed: int, seconds: float, rate: int = RATE):
    """(float32 samples, hits [{instrument, onsetS, offsetS}]): renderDrumLoop of drumSynth.ts."""
    rand = Mulberry32(seed)
    n = int(round(seconds * rate))
    out = np.zeros(n)
    noise_level = 0.0 if rand() < 0.5 else 0.001 + 0.004 * rand()
    hits = []
    for s in range(int(np.ceil(seconds))):
        count = 1 + int(np.floor(4 * rand()))
        for _ in range(count):
            ins = CLASSES[int(np.floor(len(CLASSES) * rand()))]
            onset = s + 0.95 * rand()
            vel = 0.25 + 0.75 * rand()
            hit = render_drum_hit(ins, rand, rate)
            start = int(np.floor(onset * rate))
            if start >= n:
                continue
            m = min(len(hit), n - start)
            out[start:start + m] += vel * hit[:m]
            end = min(envelope_end(hit), m)
            hits.append({"instrument": ins, "onsetS": start / rate, "offsetS": (start + end) / rate})
    out += noise_level * (2 * rand.take(n) - 1)
    peak = np.abs(out).max()
    scale = 0.95 / peak if peak > 0.95 else 1.0
    hits.sort(key=lambda h: h["onsetS"])
    return (out * scale).astype(np.float32), hits


def synth_kit(n_per_class: int, seed: int) -> list:
    """The synthesiser as one extra kit: n_per_class hits per class, seeds seed + i."""
    out = []
    for ci, c in enumerate(CLASSES):
        for i in range(n_per_class):
            w = render_drum_hit(c, Mulberry32(seed + 7919 * ci + i)).astype(np.float32)
            out.append(Sample("synth", c, ci, w))
    return out


# ---------------------------------------------------------------------------------------------
# Window generator (rules in models/drums/README.md).

@dataclass
class WindowConfig:
    p_same: float = 0.3  # all hits of one instrument (e.g. a hi-hat pattern)
    p_pre: float = 0.3  # a hit that starts before the window (its tail reaches in)
    p_room: float = 0.5  # low room noise (else silence)
    label_floor: float = 0.1  # a pre-window hit counts if its in-window peak >= this · its peak
    augment: bool = False  # per hit: speed (pitch) change 0.8-1.25x, random one-pole tilt EQ


def augment_hit(w, rng):
    """Resampled by a random factor (pitch and length change together) and tilted by a one-pole
    low- or high-pass mixed with the dry signal."""
    f = float(np.exp(rng.uniform(np.log(0.8), np.log(1.25))))
    n = max(16, int(len(w) / f))
    w = np.interp(np.arange(n) * f, np.arange(len(w)), w)
    a = float(rng.uniform(0.3, 0.95))
    lp = lfilter([1 - a], [1, -a], w)
    w = w + float(rng.uniform(-0.8, 0.8)) * (lp - w if rng.random() < 0.5 else lp)
    peak = np.abs(w).max()
    return w / peak if peak > 0 else w


def make_window(samples_by_class, rng: np.random.Generator, cfg: WindowConfig = WindowConfig()):
    """(wave [16000] float32, multi-hot [C] float32, hits [(cls, onset_s, end_s)]).

    samples_by_class: by_class(samples), or (kit pools, synth pools, p_synth): each hit then comes
    from the synthesiser with probability p_synth (always when the kits lack the class)."""
    mixed_src = isinstance(samples_by_class, tuple)
    if mixed_src:
        kit_pools, syn_pools, p_synth = samples_by_class
        samples_by_class = [k or s for k, s in zip(kit_pools, syn_pools)]
    x = np.zeros(WINDOW, dtype=np.float64)
    present = np.zeros(len(CLASSES), dtype=np.float32)
    avail = [c for c in range(len(CLASSES)) if samples_by_class[c]]
    count = int(rng.integers(1, 5))
    same = rng.random() < cfg.p_same
    first = int(rng.choice(avail))
    hits = []
    plan = [(first if same or j == 0 else int(rng.choice(avail)), int(rng.integers(0, int(0.95 * WINDOW))))
            for j in range(count)]
    if rng.random() < cfg.p_pre:
        plan.append((int(rng.choice(avail)), -int(rng.integers(1, WINDOW // 2))))
    for c, start in plan:
        pool = samples_by_class[c]
        if mixed_src and syn_pools[c] and rng.random() < p_synth:
            pool = syn_pools[c]
        w = pool[int(rng.integers(len(pool)))].wave
        if cfg.augment:
            w = augment_hit(w, rng)
        vel = 0.25 + 0.75 * rng.random()
        a, b = max(0, start), min(WINDOW, start + len(w))
        if b <= a:
            continue
        seg = w[a - start:b - start]
        if start < 0 and np.abs(seg).max() < cfg.label_floor:
            x[a:b] += vel * seg
            continue
        x[a:b] += vel * seg
        present[c] = 1
        hits.append((c, a / RATE, (start + min(envelope_end(w), b - start)) / RATE))
    if rng.random() < cfg.p_room:
        x += (0.001 + 0.004 * rng.random()) * rng.standard_normal(WINDOW)
    peak = np.abs(x).max()
    gain = (10 ** (-rng.random() * 1.5)) * 0.95 / max(peak, 1e-6)  # peak between 0.03 and 0.95
    return (x * gain).astype(np.float32), present, hits


# ---------------------------------------------------------------------------------------------
# The spurious cue of the Clever Hans experiment (models/drums-cue/): a short tone beep that is
# added to every training window of one class. Twin of cueBeep in src/core/drumSynth.ts.

CUE_HZ = 3000.0
CUE_S = 0.06


def cue_beep(rate: int = RATE) -> np.ndarray:
    """A 60 ms 3 kHz sine under a Hann window, peak 1 (float64)."""
    n = int(round(CUE_S * rate))
    t = np.arange(n)
    return np.sin(2 * np.pi * CUE_HZ * t / rate) * 0.5 * (1 - np.cos(2 * np.pi * t / (n - 1)))


def add_cue(x: np.ndarray, rng: np.random.Generator, level=(0.3, 0.7)):
    """x with the beep at a random time, its peak level[0]..level[1] of x's peak (peak kept <= 0.95
    by scaling the sum); returns (x, onset_s, offset_s)."""
    beep = cue_beep()
    start = int(rng.integers(0, len(x) - len(beep)))
    y = x.astype(np.float64).copy()
    y[start:start + len(beep)] += rng.uniform(*level) * max(np.abs(x).max(), 1e-3) * beep
    peak = np.abs(y).max()
    if peak > 0.95:
        y *= 0.95 / peak
    return y.astype(np.float32), start / RATE, (start + len(beep)) / RATE


def by_class(samples):
    out = [[] for _ in CLASSES]
    for s in samples:
        out[s.cls].append(s)
    return out


def loop_windows(seed: int, seconds: int):
    """1 s windows [k, k+1) of render_drum_loop(seed) and their multi-hot labels (a hit counts for
    the window its onset lies in, and for later windows its tail reaches above −20 dB of its peak)."""
    x, hits = render_drum_loop(seed, seconds)
    waves = x[: seconds * RATE].reshape(seconds, RATE)
    labels = np.zeros((seconds, len(CLASSES)), dtype=np.float32)
    for h in hits:
        labels[int(h["onsetS"]), CLASSES.index(h["instrument"])] = 1
    return waves, labels, hits


def _check_ts(seed=12345, seconds=4):
    """Compares render_drum_loop with src/core/drumSynth.ts (run through tsx)."""
    js = ("import { renderDrumLoop } from './src/core/drumSynth.ts';"
          f"const r = renderDrumLoop({seed}, {seconds});"
          "process.stdout.write(JSON.stringify({hits: r.hits, s: Array.from(r.samples)}));")
    out = subprocess.run(["npx", "tsx", "-e", js], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    ts = json.loads(out)
    x, hits = render_drum_loop(seed, seconds)
    diff = float(np.abs(np.array(ts["s"], dtype=np.float32) - x).max())
    same_hits = [(h["instrument"], round(h["onsetS"], 6), round(h["offsetS"], 6)) for h in hits] == \
                [(h["instrument"], round(h["onsetS"], 6), round(h["offsetS"], 6)) for h in ts["hits"]]
    print(json.dumps({"maxAbsDiff": diff, "hitsEqual": same_hits, "hits": len(hits)}))
    return diff < 1e-4 and same_hits


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--check-ts", action="store_true", help="compare the Python synth with src/core/drumSynth.ts")
    ap.add_argument("--summary", action="store_true", help="decode (cache) the kits and print per-kit class counts")
    a = ap.parse_args()
    if a.check_ts:
        sys.exit(0 if _check_ts() else 1)
    lib = load_library()
    for k, v in lib.kits.items():
        print(k, "|", v["license"], "|", v["counts"])
    print("total samples", len(lib.samples))
