"""LoRA by hand: the target Linear layers get y = W x + (alpha / r) * B (A x), A (r x in) random, B (out x r) zeros,
so training starts from the base exactly. The base stays frozen; only A and B learn (kept in float32 whatever the
base's dtype). Saved with PEFT's names and config, so PEFT, llama.cpp's converter or a hand merge can read it."""
import contextlib
import json
import math
import os
from typing import Dict, List

import torch
from torch import nn

from .protocol import TrainerError

PEFT_PREFIX = "base_model.model."


class LoraLinear(nn.Module):
    def __init__(self, base: nn.Linear, rank: int, alpha: float):
        super().__init__()
        self.base = base
        self.rank = rank
        self.scaling = alpha / rank
        device = base.weight.device
        self.lora_A = nn.Parameter(torch.empty(rank, base.in_features, device=device, dtype=torch.float32))
        self.lora_B = nn.Parameter(torch.zeros(base.out_features, rank, device=device, dtype=torch.float32))
        nn.init.kaiming_uniform_(self.lora_A, a=math.sqrt(5))  # PEFT's default init of A
        self.enabled = True

    def forward(self, x):
        y = self.base(x)
        if not self.enabled:
            return y
        return y + ((x.to(self.lora_A.dtype) @ self.lora_A.T) @ self.lora_B.T * self.scaling).to(y.dtype)


def inject(model: nn.Module, targets: List[str], rank: int, alpha: float) -> Dict[str, LoraLinear]:
    """Wrap every Linear whose last name is in `targets`; returns {module path: wrapper}."""
    found = {}
    linear_names = set()
    for name, module in list(model.named_modules()):
        if not isinstance(module, nn.Linear):
            continue
        leaf = name.rsplit(".", 1)[-1]
        linear_names.add(leaf)
        if leaf in targets and name != "lm_head":
            parent = model.get_submodule(name.rsplit(".", 1)[0]) if "." in name else model
            wrapper = LoraLinear(module, rank, alpha)
            setattr(parent, leaf, wrapper)
            found[name] = wrapper
    missing = [t for t in targets if not any(n.rsplit(".", 1)[-1] == t for n in found)]
    if missing:
        raise TrainerError(f"--targets {','.join(missing)}: no such Linear layer in this model; "
                           f"it has {', '.join(sorted(linear_names))}.")
    return found


@contextlib.contextmanager
def disabled(loras: Dict[str, LoraLinear]):
    """The base model: every adapter switched off (the DPO/KTO reference, the 'before' evaluation)."""
    for m in loras.values():
        m.enabled = False
    try:
        yield
    finally:
        for m in loras.values():
            m.enabled = True


def trainable(loras: Dict[str, LoraLinear]) -> List[nn.Parameter]:
    return [p for m in loras.values() for p in (m.lora_A, m.lora_B)]


def peft_state_dict(loras: Dict[str, LoraLinear]) -> Dict[str, torch.Tensor]:
    out = {}
    for name, m in loras.items():
        out[f"{PEFT_PREFIX}{name}.lora_A.weight"] = m.lora_A.detach().float().cpu().contiguous()
        out[f"{PEFT_PREFIX}{name}.lora_B.weight"] = m.lora_B.detach().float().cpu().contiguous()
    return out


def adapter_config(base_name: str, rank: int, alpha: float, targets: List[str]) -> dict:
    # The fields LoraConfig reads (PEFT 0.x); the rest take PEFT's defaults.
    return {
        "peft_type": "LORA",
        "task_type": "CAUSAL_LM",
        "base_model_name_or_path": base_name,
        "r": rank,
        "lora_alpha": int(alpha) if float(alpha).is_integer() else alpha,  # PEFT types it int; 16, not 16.0
        "lora_dropout": 0.0,
        "target_modules": list(targets),
        "bias": "none",
        "fan_in_fan_out": False,
        "inference_mode": True,
        "init_lora_weights": True,
        "use_rslora": False,
        "use_dora": False,
        "modules_to_save": None,
        "layers_to_transform": None,
        "layers_pattern": None,
        "rank_pattern": {},
        "alpha_pattern": {},
        "revision": None,
    }


def save_adapter(out_dir: str, loras: Dict[str, LoraLinear], config: dict) -> List[str]:
    from safetensors.torch import save_file

    os.makedirs(out_dir, exist_ok=True)
    weights = os.path.join(out_dir, "adapter_model.safetensors")
    save_file(peft_state_dict(loras), weights, metadata={"format": "pt"})
    os.chmod(weights, 0o644)  # safetensors writes 0600; the adapter is shared with Ollama/llama.cpp
    cfg = os.path.join(out_dir, "adapter_config.json")
    with open(cfg, "w", encoding="utf-8") as f:
        json.dump(config, f, indent=2)
        f.write("\n")
    return [weights, cfg]


@torch.no_grad()
def check_merge(model: nn.Module, loras: Dict[str, LoraLinear], weights_path: str, config: dict, input_ids, attention_mask) -> float:
    """Merge the saved file by hand into the base weights (W += alpha/r * B @ A) and compare the logits with the
    adapted model's: the largest absolute difference. Run last: the base weights are restored only up to rounding."""
    from safetensors.torch import load_file

    adapted = model(input_ids=input_ids, attention_mask=attention_mask).logits.float()
    tensors = load_file(weights_path)
    scaling = config["lora_alpha"] / config["r"]
    deltas = {}
    for name, m in loras.items():
        a = tensors[f"{PEFT_PREFIX}{name}.lora_A.weight"].to(m.base.weight.device)
        b = tensors[f"{PEFT_PREFIX}{name}.lora_B.weight"].to(m.base.weight.device)
        deltas[name] = (scaling * (b @ a)).to(m.base.weight.dtype)
        m.base.weight.add_(deltas[name])
    try:
        with disabled(loras):
            merged = model(input_ids=input_ids, attention_mask=attention_mask).logits.float()
    finally:
        for name, m in loras.items():
            m.base.weight.sub_(deltas[name])
    mask = attention_mask.bool()
    return (adapted - merged).abs()[mask].max().item()
