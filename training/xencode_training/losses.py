"""Batches, sequence log-probabilities and the three objectives.

Every loss reads only the text's tokens (completion / chosen / rejected, EOS included): the prompt is context.
- SFT: mean negative log-likelihood per text token over the batch.
- DPO (Rafailov et al. 2023), sigmoid loss: -log σ(β[(π_c - ref_c) - (π_r - ref_r)]) with π, ref the summed
  log-probs of the text under the adapted model and the reference (the base: LoRA off, no grad).
- KTO (Ethayarajh et al. 2024), simplified as TRL does: r = π(y|x) - ref(y|x); z = the batch's KL estimate
  mean(π(y'|x) - ref(y'|x)) over mismatched pairs (each prompt with the next record's completion), clamped at 0
  and detached; loss 1 - σ(β(r - z)) for a wanted completion, 1 - σ(β(z - r)) for an unwanted one, λ_D = λ_U = 1
  (no class re-weighting). A batch of one has no mismatched pair: z = 0.
"""
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F

from .lora import disabled

Pair = Tuple[List[int], List[int]]  # (prompt ids, text ids)


@dataclass
class Encoded:
    kept: Pair  # sft completion / dpo chosen / kto completion
    other: Optional[Pair]  # dpo rejected
    label: bool  # kto: the completion was wanted


def collate(pairs: Sequence[Pair], device: str):
    """Right-padded input ids, attention mask, and the mask of the text's tokens as prediction targets."""
    width = max(len(p) + len(t) for p, t in pairs)
    ids = torch.zeros(len(pairs), width, dtype=torch.long)
    attn = torch.zeros(len(pairs), width, dtype=torch.long)
    text = torch.zeros(len(pairs), width, dtype=torch.bool)
    for i, (p, t) in enumerate(pairs):
        ids[i, : len(p) + len(t)] = torch.tensor(p + t, dtype=torch.long)
        attn[i, : len(p) + len(t)] = 1
        text[i, len(p): len(p) + len(t)] = True
    return ids.to(device), attn.to(device), text.to(device)


def sequence_logps(model, pairs: Sequence[Pair], device: str):
    """(summed log-prob of each text [B], its token count [B])."""
    ids, attn, text = collate(pairs, device)
    logits = model(input_ids=ids, attention_mask=attn).logits[:, :-1].float()
    targets = ids[:, 1:]
    mask = text[:, 1:]
    logps = torch.gather(F.log_softmax(logits, dim=-1), 2, targets.unsqueeze(-1)).squeeze(-1)
    return (logps * mask).sum(-1), mask.sum(-1)


def sft_loss(model, batch: Sequence[Encoded], device: str, loras, beta: float):
    logps, counts = sequence_logps(model, [e.kept for e in batch], device)
    return -logps.sum() / counts.sum().clamp(min=1)


def _reference(model, pairs, device, loras):
    with torch.no_grad(), disabled(loras):
        return sequence_logps(model, pairs, device)[0]


def dpo_loss(model, batch: Sequence[Encoded], device: str, loras, beta: float):
    pairs = [e.kept for e in batch] + [e.other for e in batch]
    policy = sequence_logps(model, pairs, device)[0]
    ref = _reference(model, pairs, device, loras)
    n = len(batch)
    margin = (policy[:n] - ref[:n]) - (policy[n:] - ref[n:])
    return -F.logsigmoid(beta * margin).mean()


def kto_loss(model, batch: Sequence[Encoded], device: str, loras, beta: float):
    pairs = [e.kept for e in batch]
    reward = sequence_logps(model, pairs, device)[0] - _reference(model, pairs, device, loras)
    kl = torch.zeros((), device=reward.device)
    if len(batch) > 1:
        mismatched = [(batch[i].kept[0], batch[(i + 1) % len(batch)].kept[1]) for i in range(len(batch))]
        with torch.no_grad():
            kl = (sequence_logps(model, mismatched, device)[0] - _reference(model, mismatched, device, loras)).mean().clamp(min=0)
    wanted = torch.tensor([e.label for e in batch], device=reward.device)
    loss = torch.where(wanted, 1 - torch.sigmoid(beta * (reward - kl)), 1 - torch.sigmoid(beta * (kl - reward)))
    return loss.mean()


LOSSES = {"sft": sft_loss, "dpo": dpo_loss, "kto": kto_loss}
