"""The optimisation loop: AdamW on the LoRA weights only, linear warm-up then cosine decay to a tenth of --lr,
gradients clipped at 1.0, records shuffled every epoch (seeded). --max-steps, when given, sets the number of steps
(cycling the epochs as needed, as Hugging Face's Trainer does); else epochs x batches per epoch."""
import math
import random
import time
from typing import Callable, List, Optional

import torch

from .lora import trainable
from .losses import LOSSES, Encoded

GRAD_CLIP = 1.0
MIN_LR_FRACTION = 0.1


def total_steps(records: int, batch_size: int, epochs: int, max_steps: Optional[int]) -> int:
    return max_steps if max_steps is not None else epochs * math.ceil(records / batch_size)


def lr_at(step: int, total: int, peak: float) -> float:
    """Step counts from 1."""
    warmup = max(1, round(total * 0.05))
    if step <= warmup:
        return peak * step / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return peak * (MIN_LR_FRACTION + (1 - MIN_LR_FRACTION) * 0.5 * (1 + math.cos(math.pi * progress)))


def batches(n: int, batch_size: int, seed: int):
    """Endless index batches, a fresh seeded shuffle per epoch."""
    epoch = 0
    while True:
        order = list(range(n))
        random.Random(seed * 1_000_003 + epoch).shuffle(order)
        for i in range(0, n, batch_size):
            yield order[i: i + batch_size]
        epoch += 1


def train(model, loras, data: List[Encoded], objective: str, *, steps: int, lr: float, batch_size: int, beta: float,
          seed: int, device: str, on_step: Callable[[dict], None]) -> List[float]:
    params = trainable(loras)
    optimizer = torch.optim.AdamW(params, lr=lr, weight_decay=0.0)
    loss_fn = LOSSES[objective]
    losses = []
    started = time.monotonic()
    # The model stays in eval mode: no dropout, so the DPO/KTO reference (LoRA off) is exactly the base.
    model.eval()
    for step, idx in enumerate(batches(len(data), batch_size, seed), 1):
        if step > steps:
            break
        rate = lr_at(step, steps, lr)
        for group in optimizer.param_groups:
            group["lr"] = rate
        loss = loss_fn(model, [data[i] for i in idx], device, loras, beta)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, GRAD_CLIP)
        optimizer.step()
        value = loss.item()
        losses.append(value)
        elapsed = time.monotonic() - started
        on_step({"step": step, "total": steps, "loss": value, "lr": rate, "elapsed_s": round(elapsed, 3),
                 "eta_s": round(elapsed / step * (steps - step), 3)})
    return losses
