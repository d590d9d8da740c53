"""Command-line arguments: parsed and checked before anything heavy is imported, so bad input fails in a blink."""
import argparse
import os
import re
from dataclasses import dataclass
from typing import List, Optional

from .protocol import TrainerError

OBJECTIVES = ("sft", "dpo", "kto")
DEVICES = ("cpu", "cuda", "mps")


@dataclass
class Options:
    base: str
    objective: str
    train: str
    eval: Optional[str]
    out: str
    rank: int
    alpha: float
    epochs: int
    lr: float
    max_steps: Optional[int]
    batch_size: int
    max_length: int
    gen_tokens: int
    device: Optional[str]
    seed: int
    targets: List[str]
    beta: float


class _Parser(argparse.ArgumentParser):
    # argparse prints usage to stderr and exits 2; the caller needs the error event on stdout instead.
    def error(self, message):
        raise TrainerError(f"{message}. Run with --help for the arguments.")


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="xencode_train.py", description="Train a LoRA adapter for Xencode (SFT, DPO or KTO).")
    p.add_argument("--base", required=True, help="the base model: a Hugging Face folder or a .gguf file")
    p.add_argument("--objective", required=True, choices=OBJECTIVES)
    p.add_argument("--train", required=True, help="training data, JSONL as `xencode feedback export` writes it")
    p.add_argument("--eval", help="held-out data in the same format (default: 10%% of --train, at least 2 records)")
    p.add_argument("--out", required=True, help="output folder (created)")
    p.add_argument("--rank", type=int, default=8)
    p.add_argument("--alpha", type=float, default=16.0)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--lr", type=float, default=2e-4)
    p.add_argument("--max-steps", type=int, help="stop after this many optimizer steps (tests, quick trials)")
    p.add_argument("--batch-size", type=int, default=4)
    p.add_argument("--max-length", type=int, default=1024, help="tokens per record; the prompt is cut from its start")
    p.add_argument("--gen-tokens", type=int, default=16, help="new tokens of the greedy completions in the evaluation")
    p.add_argument("--device", choices=DEVICES, help="default: cuda, else mps, else cpu")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--targets", default="q_proj,v_proj", help="comma-separated Linear module names to adapt")
    p.add_argument("--beta", type=float, default=0.1, help="DPO/KTO temperature")
    return p


def parse_args(argv: List[str]) -> Options:
    a = _parser().parse_args(argv)
    positive = {"--rank": a.rank, "--epochs": a.epochs, "--batch-size": a.batch_size, "--max-length": a.max_length}
    for name, value in positive.items():
        if value < 1:
            raise TrainerError(f"{name} must be at least 1 (got {value}).")
    if a.max_steps is not None and a.max_steps < 1:
        raise TrainerError(f"--max-steps must be at least 1 (got {a.max_steps}).")
    if a.gen_tokens < 0:
        raise TrainerError(f"--gen-tokens must be 0 or more (got {a.gen_tokens}).")
    for name, value in {"--alpha": a.alpha, "--lr": a.lr, "--beta": a.beta}.items():
        if not value > 0:
            raise TrainerError(f"{name} must be a positive number (got {value}).")
    targets = [t.strip() for t in a.targets.split(",") if t.strip()]
    if not targets or not all(re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", t) for t in targets):
        raise TrainerError(f"--targets must list module names such as q_proj,v_proj (got '{a.targets}').")
    if not os.path.exists(a.base):
        raise TrainerError(f"The base model '{a.base}' does not exist: pass a Hugging Face model folder or a .gguf file.")
    if os.path.isfile(a.base) and not a.base.lower().endswith(".gguf"):
        raise TrainerError(f"The base model '{a.base}' is a file but not a .gguf: pass a .gguf file or a Hugging Face model folder.")
    if os.path.isdir(a.base) and not os.path.isfile(os.path.join(a.base, "config.json")):
        raise TrainerError(f"The folder '{a.base}' has no config.json: pass a Hugging Face model folder or a .gguf file.")
    for name, path in (("--train", a.train), ("--eval", a.eval)):
        if path is not None and not os.path.isfile(path):
            raise TrainerError(f"The {name} file '{path}' does not exist: write one with `xencode feedback export --format {a.objective}`.")
    if os.path.isfile(a.out):
        raise TrainerError(f"--out '{a.out}' is a file: pass a folder.")
    return Options(base=a.base, objective=a.objective, train=a.train, eval=a.eval, out=a.out, rank=a.rank,
                   alpha=a.alpha, epochs=a.epochs, lr=a.lr, max_steps=a.max_steps, batch_size=a.batch_size,
                   max_length=a.max_length, gen_tokens=a.gen_tokens, device=a.device, seed=a.seed,
                   targets=targets, beta=a.beta)
