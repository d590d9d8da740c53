"""The base model: a Hugging Face folder or a GGUF file, loaded frozen on the chosen device."""
import importlib.metadata
import os
from typing import Optional, Tuple

from .protocol import EXIT_ENVIRONMENT, TrainerError, log


def pick_device(requested: Optional[str]) -> str:
    import torch

    mps = getattr(torch.backends, "mps", None)
    has_mps = bool(mps and mps.is_available())
    if requested == "cuda" and not torch.cuda.is_available():
        raise TrainerError("--device cuda: this PyTorch sees no CUDA GPU (a CPU-only build, or no driver); "
                           "use --device cpu, or install a CUDA build of PyTorch.", EXIT_ENVIRONMENT)
    if requested == "mps" and not has_mps:
        raise TrainerError("--device mps: Apple's Metal backend is not available here; use --device cpu.", EXIT_ENVIRONMENT)
    if requested:
        return requested
    return "cuda" if torch.cuda.is_available() else "mps" if has_mps else "cpu"


def _fix_gguf_version() -> None:
    # Debian's python3-gguf has no __version__ and a stripped dist-info: transformers then reads "N/A" and every
    # gguf_file= load fails with InvalidVersion. The installed distribution knows its version.
    try:
        import gguf
    except ImportError:
        raise TrainerError("Loading a .gguf base needs the gguf package: pip install gguf (or pass a Hugging Face folder).",
                           EXIT_ENVIRONMENT)
    if not getattr(gguf, "__version__", None):
        try:
            gguf.__version__ = importlib.metadata.version("gguf")
        except importlib.metadata.PackageNotFoundError:
            gguf.__version__ = "0.10.0"


def load_base(base: str, device: str) -> Tuple[object, Optional[str], str, str]:
    """(model, gguf_file, folder, dtype name): the model in eval mode with every weight frozen."""
    import torch
    from transformers import AutoModelForCausalLM

    # float32 on CPU (exact, and CPUs gain little from bf16); bf16 on accelerators where supported, to fit real models.
    dtype = torch.float32
    if device == "cuda" and torch.cuda.is_bf16_supported():
        dtype = torch.bfloat16
    gguf_file = None
    folder = base
    if os.path.isfile(base):
        _fix_gguf_version()
        folder, gguf_file = os.path.dirname(os.path.abspath(base)), os.path.basename(base)
    try:
        kwargs = {"gguf_file": gguf_file} if gguf_file else {}
        model = AutoModelForCausalLM.from_pretrained(folder, dtype=dtype, **kwargs)
    except Exception as e:  # noqa: BLE001 - every load failure is the same advice
        raise TrainerError(f"Cannot load the base model {base} ({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}): "
                           "pass a Hugging Face causal-LM folder or a llama/qwen2 .gguf file (F32/F16/Q8_0/Q4 weights).")
    model.to(device)
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    log(f"loaded {base}: {type(model).__name__}, {sum(p.numel() for p in model.parameters()):,} parameters, {dtype} on {device}")
    return model, gguf_file, folder, str(dtype).replace("torch.", "")
