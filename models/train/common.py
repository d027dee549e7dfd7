"""Small helpers shared by the training stages: seeding, logging, checkpoints, batched eval."""
import calendar
import json
import os
import sys
import random
import time
from dataclasses import asdict, fields

import numpy as np
import torch

from frontend import magnitude

RUNS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "runs")


def cli_help(doc: str, options: str = "") -> None:
    """Print the script's docstring (and its options) and exit when -h / --help is on the command
    line: for the stage scripts that take no argparse options, so that --help never starts a run."""
    if any(a in ("-h", "--help") for a in sys.argv[1:]):
        print(doc.strip() + ("\n\noptions:\n" + options if options else ""))
        raise SystemExit(0)


def parse_config(cfg, argv):
    """Set `--key=value` / `--key value` options on a config dataclass (its field types convert
    them); unknown keys, a missing value or a value of the wrong type end the run with a message."""
    types = {f.name: f.type for f in fields(cfg)}
    it = iter(argv)
    for a in it:
        if not a.startswith("--"):
            raise SystemExit(f"unexpected argument {a}")
        k, _, v = a[2:].partition("=")
        if not v:
            v = next(it, None)
            if v is None:
                raise SystemExit(f"--{k} needs a value")
        k = k.replace("-", "_")
        if k not in types:
            raise SystemExit(f"unknown option --{k}; options: {', '.join(types)}")
        t = types[k]
        conv = float if t in (float, "float") else int if t in (int, "int") else str
        try:
            setattr(cfg, k, conv(v))
        except ValueError:
            raise SystemExit(f"--{k}: expected {conv.__name__}, got {v!r}")
    return cfg


def setup(seed: int, threads: int = 2) -> torch.Generator:
    torch.set_num_threads(int(os.environ.get("TORCH_THREADS", threads)))
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    g = torch.Generator()
    g.manual_seed(seed)
    return g


class Logger:
    """Appends JSON lines to runs/<stage>/log.jsonl and echoes them."""

    def __init__(self, stage: str):
        self.dir = os.path.join(RUNS, stage)
        os.makedirs(self.dir, exist_ok=True)
        self.path = os.path.join(self.dir, "log.jsonl")
        self.t0 = time.time()

    def __call__(self, **kv):
        kv["t"] = round(time.time() - self.t0, 1)
        line = json.dumps(kv)
        print(line, flush=True)
        with open(self.path, "a") as fh:
            fh.write(line + "\n")


def write_fixture(path: str, arrays, meta: dict) -> None:
    """A parity fixture: path.bin = the arrays as float32 little-endian, back to back; path.json =
    meta plus "arrays" (name, shape, offset, dtype of each), as src/node/fixtures.ts readFixture reads it."""
    layout, parts, off = [], [], 0
    for name, arr in arrays:
        b = np.ascontiguousarray(arr, dtype="<f4").tobytes()
        layout.append({"name": name, "shape": list(arr.shape), "offset": off, "dtype": "float32"})
        parts.append(b); off += len(b)
    with open(path + ".bin", "wb") as fh:
        fh.write(b"".join(parts))
    with open(path + ".json", "w") as fh:
        json.dump({**meta, "arrays": layout}, fh, indent=1)


def save_ckpt(path: str, **state):
    tmp = path + ".tmp"
    torch.save(state, tmp)
    os.replace(tmp, path)


def save_epoch(path: str, model, opt, sched, g: torch.Generator, epoch: int, wall: float, cfg):
    """Everything a stage needs to resume after `epoch` (atomic write)."""
    save_ckpt(path, model=model.state_dict(), opt=opt.state_dict(), sched=sched.state_dict(),
              gen=g.get_state(), rng=torch.get_rng_state(), epoch=epoch, wall=wall,
              config=asdict(cfg), model_config=asdict(model.cfg))


def resume(path: str, model, opt, sched, g: torch.Generator, allowed_missing=frozenset()):
    """Loads a save_epoch() checkpoint if there is one; returns (next epoch, wall seconds so far).

    allowed_missing: model buffers that older checkpoints may lack (filled in by the caller)."""
    if not os.path.exists(path):
        return 0, 0.0
    st = torch.load(path)
    missing = model.load_state_dict(st["model"], strict=not allowed_missing).missing_keys
    assert set(missing) <= set(allowed_missing), missing
    opt.load_state_dict(st["opt"])
    sched.load_state_dict(st["sched"]); g.set_state(st["gen"]); torch.set_rng_state(st["rng"])
    return st["epoch"], st["wall"]


def save_final(stage_dir: str, model, wall: float, cfg):
    """The trained weights and configs the next stage / export reads (final.pt)."""
    torch.save({"model": model.state_dict(), "model_config": asdict(model.cfg), "wall": wall,
                "config": asdict(cfg)}, os.path.join(stage_dir, "final.pt"))


def stage_weights(stage: str) -> str:
    """A stage's final.pt, or its latest ckpt.pt when the stage has not finished (which may not exist)."""
    final = os.path.join(RUNS, stage, "final.pt")
    return final if os.path.exists(final) else os.path.join(RUNS, stage, "ckpt.pt")


def load_trained(path: str, model_cls, config_cls, frozen: bool = False):
    """(model in eval mode, checkpoint dict) from a save_final()/save_epoch() file; frozen: no gradients."""
    st = torch.load(path)
    model = model_cls(config_cls(**st["model_config"]))
    model.load_state_dict(st["model"])
    model.eval()
    if frozen:
        for p in model.parameters():
            p.requires_grad_(False)
    return model, st


@torch.no_grad()
def predict(classifier, waves: np.ndarray, batch: int = 64) -> torch.Tensor:
    """Logits of the classifier on clean 5 s windows."""
    classifier.eval()
    out = []
    for i in range(0, len(waves), batch):
        x = torch.from_numpy(waves[i:i + batch])
        out.append(classifier(magnitude(x))[0])
    return torch.cat(out)


def si_sdr_db(est, ref, eps=1e-8):
    """SI-SDR in dB per row, as metrics.si_sdr (zero-mean, α = <ŝ, s>/‖s‖²) but float32 and differentiable."""
    est = est - est.mean(1, keepdim=True)
    ref = ref - ref.mean(1, keepdim=True)
    alpha = (est * ref).sum(1, keepdim=True) / (ref.pow(2).sum(1, keepdim=True) + eps)
    s = alpha * ref
    return 10 * torch.log10((s.pow(2).sum(1) + eps) / ((s - est).pow(2).sum(1) + eps))


def deadline_of(stop_at: str) -> float:
    """Unix time of the next HH:MM (UTC) of a --stop_at (a time earlier than now means tomorrow); inf for ''."""
    if not stop_at:
        return float("inf")
    hh, mm = (int(x) for x in stop_at.split(":"))
    now = time.gmtime()
    t = calendar.timegm((now.tm_year, now.tm_mon, now.tm_mday, hh, mm, 0))
    return t + 86400 if t < time.time() else t


class StepStats:
    """Means of the loss parts and seconds per step of two step kinds between two log lines of a fine-tuning loop.

    kinds: {True: name, False: name}, e.g. {True: "ce_step", False: "guide_step"}. A part is averaged over the
    steps that reported it (steps of one kind may add parts the other lacks)."""

    def __init__(self, kinds: dict):
        self.kinds = kinds
        self.reset()

    def reset(self):
        self.sums, self.counts = {}, {}
        self.time = {k: [0.0, 0] for k in self.kinds}

    def add(self, kind: bool, seconds: float, parts: dict):
        """Count one step of `kind` that took `seconds` and reported `parts`."""
        self.time[kind][0] += seconds
        self.time[kind][1] += 1
        for k, v in parts.items():
            self.sums[k] = self.sums.get(k, 0.0) + v
            self.counts[k] = self.counts.get(k, 0) + 1

    def take(self) -> dict:
        """The means since the last take (parts rounded to 4 digits, s_per_<kind> to 2), then start again."""
        out = {k: round(v / self.counts[k], 4) for k, v in self.sums.items()}
        out.update({f"s_per_{name}": round(t / n, 2) for kind, name in self.kinds.items() for t, n in [self.time[kind]] if n})
        self.reset()
        return out
