"""Small helpers shared by the training stages: seeding, logging, checkpoints, batched eval."""
import json
import os
import random
import time

import numpy as np
import torch

from frontend import magnitude

RUNS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "runs")


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


def save_ckpt(path: str, **state):
    tmp = path + ".tmp"
    torch.save(state, tmp)
    os.replace(tmp, path)


@torch.no_grad()
def predict(classifier, waves: np.ndarray, batch: int = 64) -> torch.Tensor:
    """Logits of the classifier on clean 5 s windows."""
    classifier.eval()
    out = []
    for i in range(0, len(waves), batch):
        x = torch.from_numpy(waves[i:i + batch])
        out.append(classifier(magnitude(x))[0])
    return torch.cat(out)
