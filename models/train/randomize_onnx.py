"""Cascading weight randomization of an ONNX classifier (sanity check of explanations).

    /usr/bin/python3 models/train/randomize_onnx.py --model classifier.onnx --out DIR
        [--hidden h1,h2,h3,h4] [--seed 1]

Groups the trained float initializers into blocks from the top (nearest the logits) down and
writes DIR/step_1.onnx ... DIR/step_K.onnx: step k has the top k blocks replaced by random values
drawn from a Gaussian with each tensor's own mean and standard deviation (seeded), the rest kept.
DIR/blocks.json lists the blocks (initializer names, the nodes that use them, parameter counts).

Blocks: by name prefix (`a.b.weight` → `a.b`, e.g. `c.fc`) when initializers have module names;
nodes whose initializers carry exported names like `onnx::Conv_107` are grouped by the classifier's
declared hidden outputs (--hidden, from the manifest): every parametrized node between output h_k
and h_{k+1} (in graph order) is one block, the nodes after the last hidden output form the top block;
without hidden outputs each such node is its own block (layer-wise cascading).
Fixed, non-trained tensors are never randomized: mel filterbanks (a name containing "mel"),
BatchNorm running statistics, integer tensors and scalars. No training; needs python3-onnx + numpy.
"""
import argparse
import json
import os

import numpy as np
import onnx
from onnx import numpy_helper


def fixed(name, arr):
    n = name.lower()
    return "mel" in n or "running_" in n or "num_batches" in n or arr.dtype.kind != "f" or arr.ndim == 0 or arr.size <= 1


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--hidden", default="", help="comma-separated hidden output names, bottom to top")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()

    model = onnx.load(a.model)
    g = model.graph
    inits = {i.name: i for i in g.initializer}
    arrays = {n: numpy_helper.to_array(t) for n, t in inits.items()}
    hidden = [h for h in a.hidden.split(",") if h]

    # graph order: which node first consumes each initializer; the node index that produces each hidden output
    first_use = {}
    for k, node in enumerate(g.node):
        for inp in node.input:
            if inp in inits and inp not in first_use:
                first_use[inp] = k
    produced = {}
    for k, node in enumerate(g.node):
        for o in node.output:
            produced[o] = k
    # the hidden outputs may be produced by an Identity after the block: boundary = producer's index
    bounds = sorted(produced[h] for h in hidden if h in produced)

    def block_of(name):
        k = first_use.get(name, -1)
        if not name.startswith("onnx::") and "." in name:
            prefix = name.rsplit(".", 1)[0]
            # a module name: its own block, ordered by where it is used
            return ("name", prefix, k)
        if not bounds:  # no hidden outputs declared: layer-wise, one block per parametrized node
            return ("layer", f"{g.node[k].op_type} (node {k})", k)
        level = sum(1 for b in bounds if k > b)  # 0 = before h1 ... len(bounds) = after the last hidden output
        return ("hidden", f"block {level + 1}" if level < len(bounds) else "head", k)

    groups = {}
    for name, arr in arrays.items():
        if fixed(name, arr) or name not in first_use:
            continue
        kind, key, k = block_of(name)
        gk = key
        groups.setdefault(gk, {"names": [], "first": k, "last": k})
        groups[gk]["names"].append(name)
        groups[gk]["first"] = min(groups[gk]["first"], k)
        groups[gk]["last"] = max(groups[gk]["last"], k)

    # merge name-prefixed groups that sit inside a hidden block into it (e.g. a BatchNorm before conv 1),
    # keep name-prefixed groups after the last hidden output (e.g. the classifier head c.fc) as their own blocks
    merged = {}
    for key, gr in groups.items():
        level = sum(1 for b in bounds if gr["first"] > b)
        if level < len(bounds) and not key.startswith("block"):
            tgt = f"block {level + 1}"
        else:
            tgt = key
        m = merged.setdefault(tgt, {"names": [], "first": gr["first"], "last": gr["last"]})
        m["names"] += gr["names"]
        m["first"] = min(m["first"], gr["first"])
        m["last"] = max(m["last"], gr["last"])
    # top first: by the last node that uses the block's tensors, descending
    blocks = sorted(merged.items(), key=lambda kv: -kv[1]["last"])

    os.makedirs(a.out, exist_ok=True)
    rng = np.random.default_rng(a.seed)
    info = []
    randomized = {}
    for step, (key, gr) in enumerate(blocks, start=1):
        for name in sorted(gr["names"]):
            arr = arrays[name]
            mu, sd = float(arr.mean()), float(arr.std())
            randomized[name] = rng.normal(mu, sd if sd > 0 else 1e-3, size=arr.shape).astype(arr.dtype)
        m2 = onnx.ModelProto()
        m2.CopyFrom(model)
        for t in m2.graph.initializer:
            if t.name in randomized:
                t.CopyFrom(numpy_helper.from_array(randomized[t.name], t.name))
        path = os.path.join(a.out, f"step_{step}.onnx")
        onnx.save(m2, path)
        info.append({
            "step": step,
            "block": key,
            "initializers": sorted(gr["names"]),
            "nodes": sorted({g.node[first_use[n]].op_type for n in gr["names"]}),
            "parameters": int(sum(arrays[n].size for n in gr["names"])),
            "file": os.path.basename(path),
        })
    with open(os.path.join(a.out, "blocks.json"), "w") as fh:
        json.dump({"model": a.model, "seed": a.seed, "hidden": hidden, "steps": info}, fh, indent=1)
        fh.write("\n")
    print(json.dumps([{k: v for k, v in i.items() if k != "initializers"} for i in info]))


if __name__ == "__main__":
    main()
