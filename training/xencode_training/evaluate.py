"""Before/after metrics on the held-out records (before = the base: every adapter off).

- kept_loss: mean negative log-likelihood per token of the texts the user kept (sft completion, dpo chosen, kto
  completion labelled true), EOS included; lower is better.
- rejected_loss: the same over the texts not kept (dpo rejected, kto label false); null when there are none.
- preference_accuracy: the share of (kept, not kept) pairs of one prompt where the kept text has the higher summed
  log-prob (dpo: every record; kto: every wanted/unwanted pair that shares a prompt; null when there is none), and
  mean_margin: the mean of those log-prob differences.
- exact_match, edit_similarity: greedy completions of at most `gen_tokens` new tokens (ending at EOS) against the
  kept text cut to the same number of tokens (a long text is judged on its start); similarity is
  1 - Levenshtein / longer length. Over the first GEN_RECORDS kept records.
"""
from collections import defaultdict
from typing import Dict, List, Optional, Sequence

import torch

from .data import Record
from .lora import disabled
from .losses import Encoded, sequence_logps

BATCH = 8
GEN_RECORDS = 64


def levenshtein(a: str, b: str) -> int:
    if len(a) < len(b):
        a, b = b, a
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def edit_similarity(a: str, b: str) -> float:
    longest = max(len(a), len(b))
    return 1.0 if longest == 0 else 1.0 - levenshtein(a, b) / longest


def _logps(model, pairs, device) -> List[float]:
    out = []
    for i in range(0, len(pairs), BATCH):
        s, n = sequence_logps(model, pairs[i: i + BATCH], device)
        out.extend(zip(s.tolist(), n.tolist()))
    return out


def _mean_nll(scored) -> Optional[float]:
    tokens = sum(n for _, n in scored)
    return None if tokens == 0 else -sum(s for s, _ in scored) / tokens


def _greedy(model, tokenizer, prompt_ids: List[int], max_new: int, device: str) -> List[int]:
    ids = torch.tensor([prompt_ids], dtype=torch.long, device=device)
    out = model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), max_new_tokens=max_new, do_sample=False,
                         temperature=None, top_p=None, top_k=None, eos_token_id=tokenizer.eos_id,
                         pad_token_id=tokenizer.eos_id if tokenizer.eos_id is not None else 0)
    new = out[0, len(prompt_ids):].tolist()
    if tokenizer.eos_id in new:
        new = new[: new.index(tokenizer.eos_id)]
    return new


@torch.no_grad()
def _measure(model, tokenizer, records: Sequence[Record], encoded: Sequence[Encoded], objective: str,
             gen_tokens: int, device: str) -> Dict:
    kept_idx = [i for i, e in enumerate(encoded) if e.label]
    kept = _logps(model, [encoded[i].kept for i in kept_idx], device)
    if objective == "dpo":
        other = _logps(model, [e.other for e in encoded], device)
        pairs = [(k[0], o[0]) for k, o in zip(kept, other)]
    elif objective == "kto":
        other_idx = [i for i, e in enumerate(encoded) if not e.label]
        other = _logps(model, [encoded[i].kept for i in other_idx], device)
        by_prompt = defaultdict(lambda: ([], []))
        for i, s in zip(kept_idx, kept):
            by_prompt[records[i].prompt][0].append(s[0])
        for i, s in zip(other_idx, other):
            by_prompt[records[i].prompt][1].append(s[0])
        pairs = [(k, o) for ks, us in by_prompt.values() for k in ks for o in us]
    else:
        other, pairs = [], []
    matches, sims = [], []
    if gen_tokens > 0:
        for i in kept_idx[:GEN_RECORDS]:
            prompt_ids, text_ids = encoded[i].kept
            want = [t for t in text_ids[:gen_tokens] if t != tokenizer.eos_id]
            got = tokenizer.decode(_greedy(model, tokenizer, prompt_ids, gen_tokens, device))
            expected = tokenizer.decode(want)
            matches.append(float(got == expected))
            sims.append(edit_similarity(got, expected))
    return {
        "kept_loss": _mean_nll(kept),
        "rejected_loss": _mean_nll(other),
        "preference_accuracy": sum(k > o for k, o in pairs) / len(pairs) if pairs else None,
        "mean_margin": sum(k - o for k, o in pairs) / len(pairs) if pairs else None,
        "exact_match": sum(matches) / len(matches) if matches else None,
        "edit_similarity": sum(sims) / len(sims) if sims else None,
        "pairs": len(pairs),
        "generated": len(matches),
    }


def evaluate(model, loras, tokenizer, records, encoded, objective: str, gen_tokens: int, device: str, adapted: bool) -> Dict:
    model.eval()
    if adapted:
        return _measure(model, tokenizer, records, encoded, objective, gen_tokens, device)
    with disabled(loras):
        return _measure(model, tokenizer, records, encoded, objective, gen_tokens, device)
