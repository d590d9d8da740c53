"""The trainer's run: arguments, data, base, LoRA, evaluation before, training, evaluation after, files out.
Every failure ends in one error event on stdout and a non-zero exit code."""
import json
import os
import random
import sys
import time
import traceback
from typing import List

from .cli import parse_args
from .data import load_data
from .protocol import EXIT_ENVIRONMENT, EXIT_UNEXPECTED, TrainerError, claim_stdout, clean, emit

MERGE_TOLERANCE = 1e-3  # float32: a hand merge must give the trained logits (it gives ~1e-6)
PROBE_RECORDS = 4


def _import_torch():
    # Xencode is offline: a model is a local path, never a download; and library progress bars are noise on stderr.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")
    try:
        import torch  # noqa: F401
        import transformers  # noqa: F401
        import safetensors  # noqa: F401
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
    except ImportError as e:
        raise TrainerError(f"{e.name or 'PyTorch'} is not installed for {sys.executable}: "
                           "pip install torch transformers safetensors (or point XENCODE_PYTHON at a Python that has them).",
                           EXIT_ENVIRONMENT)


def run(argv: List[str]) -> None:
    started = time.monotonic()
    opts = parse_args(argv)
    train_records, eval_records, held_out = load_data(opts.train, opts.eval, opts.objective, opts.seed)
    _import_torch()
    import torch

    from .base import load_base, pick_device
    from .evaluate import evaluate
    from .lora import adapter_config, check_merge, inject, save_adapter, trainable
    from .losses import Encoded, collate
    from .tokens import load_tokenizer, truncate
    from .train import total_steps, train

    random.seed(opts.seed)
    torch.manual_seed(opts.seed)
    device = pick_device(opts.device)
    model, gguf_file, folder, dtype = load_base(opts.base, device)
    tokenizer = load_tokenizer(folder, gguf_file, model.config.vocab_size)

    def pair(prompt, text):
        return truncate(*tokenizer.encode_pair(prompt, text), opts.max_length, tokenizer.bos_id)

    def encode(records):
        return [Encoded(pair(r.prompt, r.text), pair(r.prompt, r.other) if r.other is not None else None, r.label)
                for r in records]

    train_data, eval_data = encode(train_records), encode(eval_records)
    loras = inject(model, opts.targets, opts.rank, opts.alpha)
    steps = total_steps(len(train_data), opts.batch_size, opts.epochs, opts.max_steps)
    base_info = {"path": os.path.abspath(opts.base), "format": "gguf" if gguf_file else "hf", "tokenizer": tokenizer.name}
    emit("start", total_steps=steps, objective=opts.objective, records=len(train_data), eval_records=len(eval_data),
         eval_held_out_from_train=held_out, device=device, dtype=dtype, base=base_info["path"],
         base_format=base_info["format"], tokenizer=tokenizer.name,
         trainable_params=sum(p.numel() for p in trainable(loras)), adapted_modules=len(loras), epochs=opts.epochs,
         batch_size=opts.batch_size, rank=opts.rank, alpha=opts.alpha, lr=opts.lr, targets=opts.targets)

    def measure(adapted):
        return evaluate(model, loras, tokenizer, eval_records, eval_data, opts.objective, opts.gen_tokens, device, adapted)

    before = measure(False)
    emit("eval", phase="before", **before)
    losses = train(model, loras, train_data, opts.objective, steps=steps, lr=opts.lr, batch_size=opts.batch_size,
                   beta=opts.beta, seed=opts.seed, device=device, on_step=lambda s: emit("step", **s))
    after = measure(True)
    emit("eval", phase="after", **after)

    config = adapter_config(base_info["path"], opts.rank, opts.alpha, opts.targets)
    files = save_adapter(opts.out, loras, config)
    probe = collate([e.kept for e in eval_data[:PROBE_RECORDS]], device)
    diff = check_merge(model, loras, files[0], config, probe[0], probe[1])
    if dtype == "float32" and not diff <= MERGE_TOLERANCE:
        raise TrainerError(f"The saved adapter does not reproduce the trained model (largest logit difference {diff:g}): "
                           "this is a bug in the trainer, please report it.", EXIT_UNEXPECTED)
    evaluation = {
        "objective": opts.objective,
        "base": base_info,
        "records": {"train": len(train_data), "eval": len(eval_data), "eval_held_out_from_train": held_out},
        "steps": len(losses),
        "train_loss": {"first": losses[0] if losses else None, "last": losses[-1] if losses else None},
        "before": before,
        "after": after,
        "merge_check": {"max_abs_logit_diff": diff, "records": len(probe[0])},
        "settings": {"rank": opts.rank, "alpha": opts.alpha, "targets": opts.targets, "lr": opts.lr, "epochs": opts.epochs,
                     "max_steps": opts.max_steps, "batch_size": opts.batch_size, "beta": opts.beta,
                     "max_length": opts.max_length, "gen_tokens": opts.gen_tokens, "seed": opts.seed, "device": device,
                     "dtype": dtype},
    }
    eval_path = os.path.join(opts.out, "evaluation.json")
    with open(eval_path, "w", encoding="utf-8") as f:
        json.dump(clean(evaluation), f, indent=2, allow_nan=False)
        f.write("\n")
    files.append(eval_path)
    emit("done", out=os.path.abspath(opts.out), files=[os.path.basename(p) for p in files], steps=len(losses),
         elapsed_s=round(time.monotonic() - started, 3), before=before, after=after, merge_check=diff)


def main(argv: List[str]) -> int:
    claim_stdout()
    try:
        run(argv)
        return 0
    except TrainerError as e:
        emit("error", message=e.message)
        return e.code
    except KeyboardInterrupt:
        emit("error", message="Interrupted: no adapter was written.")
        return 130
    except Exception as e:  # noqa: BLE001 - the caller needs one message whatever broke
        traceback.print_exc(file=sys.stderr)
        if type(e).__name__ == "OutOfMemoryError" or "out of memory" in str(e).lower():
            message = "Out of memory: lower --batch-size or --max-length, use a smaller --rank, or --device cpu."
        else:
            message = f"The trainer failed ({type(e).__name__}: {e}); the traceback is on stderr. Please report it."
        emit("error", message=message)
        return EXIT_UNEXPECTED
