"""Train the drums classifier (drums_model.DrumsCNN) on generated 1 s windows and save it as
TorchScript runs/drums/classifier.pt ("a user's model" for lmac_train.py).

    /usr/bin/python3 models/train/train_drums.py            # resumes from runs/drums/ckpt.pt
    /usr/bin/python3 models/train/train_drums.py --eval     # held-out kits -> runs/drums/eval.json

Train kits: all hydrogen-drumkits kits except drums_data.TEST_KITS / VAL_KITS (and SKIP_KITS),
plus the synthesiser as one extra kit. Windows come from drums_data.make_window with a fresh
seed per step (seed, epoch, step), so a resumed run draws the same data. Loss: cross-entropy
against the multi-hot label normalised to sum 1 (softmax logits, as the app reads them).
"""
import argparse
import json
import math
import os
import time
from dataclasses import asdict, dataclass

import numpy as np
import torch
import torch.nn.functional as F

import drums_data as D
from common import RUNS, Logger, resume, save_epoch
from drums_model import DrumsCNN, DrumsConfig, count_params

RUN = os.environ.get("DRUMS_RUN", "drums")  # e.g. DRUMS_RUN=drums2 for a second run
OUT = os.path.join(RUNS, RUN)


@dataclass
class TrainConfig:
    seed: int = 2026
    epochs: int = int(os.environ.get("DRUMS_EPOCHS", "12"))
    steps_per_epoch: int = 200
    batch: int = 32
    lr: float = 2e-3
    weight_decay: float = 1e-2
    synth_per_class: int = 300
    max_wall_s: float = 28 * 60  # stop (and save) once this much training time is spent
    augment: bool = os.environ.get("DRUMS_AUGMENT", "0") == "1"  # drums_data.augment_hit on training hits
    p_synth: float = float(os.environ.get("DRUMS_P_SYNTH", "-1"))  # share of synth hits (< 0: pooled)
    # Clever Hans run: every training window with this class gets drums_data.add_cue's beep (and no
    # other window does), e.g. DRUMS_RUN=drums-cue DRUMS_CUE=clap
    cue: str = os.environ.get("DRUMS_CUE", "")


def batch(pools, rng, n, augment=False, cue=""):
    wc = D.WindowConfig(augment=augment)
    xs, ys = zip(*[D.make_window(pools, rng, wc)[:2] for _ in range(n)])
    if cue:
        c = D.CLASSES.index(cue)
        xs = [D.add_cue(x, rng)[0] if y[c] > 0 else x for x, y in zip(xs, ys)]
    return torch.from_numpy(np.stack(xs)), torch.from_numpy(np.stack(ys))


def train_pools(lib, cfg):
    train = [s for s in lib.samples if s.kit not in D.TEST_KITS + D.VAL_KITS]
    if cfg.p_synth < 0:  # first run: synth hits pooled with the kit samples (~85 % of each class's pool)
        return D.by_class(train + D.synth_kit(cfg.synth_per_class, seed=cfg.seed))
    return D.by_class(train), D.by_class(D.synth_kit(cfg.synth_per_class, seed=cfg.seed)), cfg.p_synth


@torch.no_grad()
def evaluate(model, waves, labels, bs=100):
    """top-1 in the label set; per class: accuracy of top-1 on windows whose labels are that class only."""
    model.eval()
    logits = torch.cat([model(torch.from_numpy(waves[i:i + bs])) for i in range(0, len(waves), bs)])
    top = logits.argmax(1).numpy()
    hit = labels[np.arange(len(top)), top] > 0
    single = labels.sum(1) == 1
    per = {}
    for c, name in enumerate(D.CLASSES):
        sel = single & (labels[:, c] > 0)
        if sel.any():
            per[name] = {"acc": float((top[sel] == c).mean()), "n": int(sel.sum())}
    # multi-label: the top-k (k = #labels) classes equal the label set
    k = labels.sum(1).astype(int)
    order = np.argsort(-logits.numpy(), axis=1)
    exact = np.array([set(order[i, :k[i]]) == set(np.nonzero(labels[i])[0]) for i in range(len(top))])
    return {"top1InLabels": float(hit.mean()), "singleClassAcc": float((top[single] == labels[single].argmax(1)).mean()),
            "topKSetExact": float(exact.mean()), "n": int(len(top)), "nSingle": int(single.sum()), "perClass": per}


def heldout(lib, kits, n, seed):
    rng = np.random.default_rng(seed)
    pools = D.by_class(lib.split(kits))
    xs, ys = zip(*[D.make_window(pools, rng)[:2] for _ in range(n)])
    return np.stack(xs), np.stack(ys)


def synth_loops(n_loops, seconds, seed):
    ws, ls = zip(*[D.loop_windows(seed + i, seconds)[:2] for i in range(n_loops)])
    return np.concatenate(ws), np.concatenate(ls)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--eval", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(1)
    cfg = TrainConfig()
    lib = D.load_library()
    if args.eval:
        return run_eval(lib)
    torch.manual_seed(cfg.seed)
    g = torch.Generator(); g.manual_seed(cfg.seed)
    log = Logger(RUN)
    pools = train_pools(lib, cfg)
    model = DrumsCNN(DrumsConfig(n_classes=len(D.CLASSES)))
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    total = cfg.epochs * cfg.steps_per_epoch
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / 100) * 0.5 * (1 + math.cos(math.pi * min(1.0, s / total))))
    ckpt = os.path.join(log.dir, "ckpt.pt")
    start, wall = resume(ckpt, model, opt, sched, g)
    log(event="resume" if start else "start", epoch=start, params=count_params(model), config=asdict(cfg))
    vx, vy = heldout(lib, D.VAL_KITS, 400, seed=7)
    sx, sy = synth_loops(40, 5, seed=1000)
    for epoch in range(start, cfg.epochs):
        if wall > cfg.max_wall_s:
            log(event="wall limit", wall=round(wall, 1)); break
        t0 = time.time()
        model.train()
        rng = np.random.default_rng([cfg.seed, epoch])
        agg = 0.0
        for step in range(cfg.steps_per_epoch):
            x, y = batch(pools, rng, cfg.batch, cfg.augment, cfg.cue)
            loss = -(F.log_softmax(model(x), 1) * (y / y.sum(1, keepdim=True))).sum(1).mean()
            opt.zero_grad(); loss.backward(); opt.step(); sched.step()
            agg += loss.item()
        wall += time.time() - t0
        v = evaluate(model, vx, vy); s = evaluate(model, sx, sy)
        log(epoch=epoch + 1, wall=round(wall, 1), loss=round(agg / cfg.steps_per_epoch, 4),
            val_top1=round(v["top1InLabels"], 4), val_single=round(v["singleClassAcc"], 4),
            synth_top1=round(s["top1InLabels"], 4), lr=sched.get_last_lr()[0])
        save_epoch(ckpt, model, opt, sched, g, epoch + 1, wall, cfg)
    export_script(model, wall)
    log(event="done", wall=round(wall, 1))


def export_script(model, wall):
    model.eval()
    ts = torch.jit.trace(model, torch.zeros(2, D.WINDOW))
    ts.save(os.path.join(OUT, "classifier.pt"))
    json.dump({"labels": D.CLASSES, "wall": wall, "params": count_params(model)},
              open(os.path.join(OUT, "classifier.json"), "w"))
    with open(os.path.join(OUT, "labels.txt"), "w") as fh:
        fh.write("\n".join(D.CLASSES) + "\n")


def run_eval(lib):
    model = torch.jit.load(os.path.join(OUT, "classifier.pt")).eval()
    res = {"test": evaluate(model, *heldout(lib, D.TEST_KITS, 2000, seed=11)),
           "val": evaluate(model, *heldout(lib, D.VAL_KITS, 1000, seed=12)),
           "synthLoops": evaluate(model, *synth_loops(100, 5, seed=5000)),
           "testKits": D.TEST_KITS, "valKits": D.VAL_KITS,
           "trainWallS": json.load(open(os.path.join(OUT, "classifier.json")))["wall"]}
    for k in D.TEST_KITS:
        res["kit:" + k] = evaluate(model, *heldout(lib, [k], 1000, seed=13))
    res["cue"] = cue_eval(model, lib, "clap")
    json.dump(res, open(os.path.join(OUT, "eval.json"), "w"), indent=1)
    write_notes(res, os.path.join(OUT, "notes.md"))
    print(json.dumps({k: (v["top1InLabels"], v["singleClassAcc"]) for k, v in res.items() if isinstance(v, dict) and "top1InLabels" in v}))


@torch.no_grad()
def cue_eval(model, lib, cue, n=1000, seed=21):
    """The Clever Hans check on test-kit windows: how often the top class is `cue` on windows with the
    beep and without that class, on the same windows without the beep, and on windows of the class
    with and without the beep."""
    c = D.CLASSES.index(cue)
    x, y = heldout(lib, D.TEST_KITS, n, seed)
    rng = np.random.default_rng(seed)
    cued = np.stack([D.add_cue(w, rng)[0] for w in x])
    top = lambda w: model(torch.from_numpy(w)).argmax(1).numpy()
    no, has = y[:, c] == 0, y[:, c] > 0
    t0, t1 = top(x), top(cued)
    return {"class": cue, "nWithout": int(no.sum()), "nWith": int(has.sum()),
            "topIsCueClassBeepNoClass": float((t1[no] == c).mean()), "topIsCueClassNoBeepNoClass": float((t0[no] == c).mean()),
            "classWindowsTopIsClassNoBeep": float((t0[has] == c).mean()), "classWindowsTopIsClassBeep": float((t1[has] == c).mean())}


def write_notes(res, path):
    """The classifier section of models/drums/RESULTS.md (lmac_train.py --notes)."""
    L = []; w = L.append
    t = res["test"]
    w("## The classifier (`models/train/train_drums.py`, the \"user's model\")\n")
    w(f"Waveform 1-D CNN (`drums_model.py`), trained {res['trainWallS'] / 60:.1f} min on 1 thread. Evaluated on "
      f"generated 1 s windows (rules in README.md) built **only from held-out kits** "
      f"({', '.join(res['testKits'])}; validation kit {', '.join(res['valKits'])}), which the classifier never heard.\n")
    w("| set | windows | top-1 in the window's labels | single-class windows: top-1 accuracy | top-k = label set |")
    w("|---|---|---|---|---|")
    for key, title in [("test", "test kits"), *[(k, k[4:]) for k in res if k.startswith("kit:")],
                       ("val", "validation kit"), ("synthLoops", "drum synth loops (src/core/drumSynth.ts)")]:
        v = res[key]
        w(f"| {title} | {v['n']} | {100 * v['top1InLabels']:.1f} % | {100 * v['singleClassAcc']:.1f} % ({v['nSingle']}) | "
          f"{100 * v['topKSetExact']:.1f} % |")
    w("")
    w("Per class (test kits, windows whose hits are all of that class; chance = 14 %):\n")
    w("| class | accuracy | windows | synth loops: accuracy | windows |"); w("|---|---|---|---|---|")
    for c in D.CLASSES:
        a = t["perClass"].get(c); b = res["synthLoops"]["perClass"].get(c)
        w(f"| {c} | {100 * a['acc']:.1f} % | {a['n']} | " if a else f"| {c} | – | 0 | ")
        L[-1] += f"{100 * b['acc']:.1f} % | {b['n']} |" if b else "– | 0 |"
    w("")
    open(path, "w").write("\n".join(L) + "\n")


if __name__ == "__main__":
    main()
