"""The tiny test model of scripts/tiny-gguf.mjs in Hugging Face form: a folder `xencode train --base` accepts.

    python3 training/tiny_model.py OUT_DIR [--seed N]          random weights (torch's initialisation, seeded)
    python3 training/tiny_model.py OUT_DIR --from-gguf FILE    the GGUF's own weights (what llama-server runs)

OUT_DIR gets config.json, generation_config.json, model.safetensors, tokenizer.json and tokenizer_config.json. The
architecture is exactly tiny-gguf.mjs's (a llama with hidden 64, 2 layers, 4 heads, 4 KV heads, FFN 128, RoPE base
10000, RMS eps 1e-5, context 2048) and so is the vocabulary (492 pieces: SentencePiece-style byte fallback, qwen-style
FIM tokens). The tokenizer adds BOS like llama.cpp does (transformers' GGUF tokenizer does not). Offline: no hub.
"""
import argparse
import json
import os
import sys

# scripts/tiny-gguf.mjs: buildTinyLlamaGguf's defaults and the keys it writes (keep the two in step; the training
# tests compare this config with the one transformers reads from a tiny GGUF).
N_EMBD, N_LAYER, N_HEAD, N_HEAD_KV, N_FF, N_CTX = 64, 2, 4, 4, 128, 2048
ROPE_THETA, RMS_EPS = 10000.0, 1e-5
UNK, BOS, EOS = 0, 1, 2
NORMAL, UNKNOWN, CONTROL, BYTE = 1, 2, 3, 6
FIM_NAMES = ["<|fim_prefix|>", "<|fim_suffix|>", "<|fim_middle|>", "<|fim_pad|>"]
WORDS = ["function", "return", "const", "let", "var", "if", "else", "for", "while", "import", "export", "from",
         "class", "new", "this", "true", "false", "null", "async", "await", "def", "self", "print", "int", "string",
         "value", "name", "data", "result", "console", "log", "add", "sum", "a", "b", "x", "y", "i"]
PAIRS = ["()", "{}", "=>", "==", "===", "();", "){", "  ", "    "]


def build_vocab():
    """tiny-gguf.mjs's buildVocab(): (tokens, scores, token types), the same pieces in the same order."""
    tokens, scores, types = [], [], []

    def add(piece, kind, score=0.0):
        tokens.append(piece)
        types.append(kind)
        scores.append(score)

    add("<unk>", UNKNOWN)
    add("<s>", CONTROL)
    add("</s>", CONTROL)
    for b in range(256):
        add(f"<0x{b:02X}>", BYTE)
    for name in FIM_NAMES:
        add(name, CONTROL)
    seen = set(tokens)

    def normal(piece):
        if piece not in seen:
            seen.add(piece)
            add(piece, NORMAL, -len(tokens) * 0.001 + len(piece))

    normal("\u2581")
    for c in range(33, 127):
        normal(chr(c))
    for w in WORDS:
        for n in range(1, len(w) + 1):
            normal("\u2581" + w[:n])
    for w in PAIRS:
        normal(w[:2])
        normal(w)
    return tokens, scores, types


def llama_config(vocab_size):
    from transformers import LlamaConfig

    return LlamaConfig(
        vocab_size=vocab_size,
        hidden_size=N_EMBD,
        intermediate_size=N_FF,
        num_hidden_layers=N_LAYER,
        num_attention_heads=N_HEAD,
        num_key_value_heads=N_HEAD_KV,
        head_dim=N_EMBD // N_HEAD,
        max_position_embeddings=N_CTX,
        rms_norm_eps=RMS_EPS,
        rope_theta=ROPE_THETA,
        hidden_act="silu",
        tie_word_embeddings=False,  # tiny-gguf.mjs writes its own output.weight
        bos_token_id=BOS,
        eos_token_id=EOS,
        unk_token_id=UNK,
    )


def tokenizer():
    """The vocabulary as a fast tokenizer, built the way transformers builds one from a llama GGUF (offline)."""
    from transformers import PreTrainedTokenizerFast
    from transformers.integrations.ggml import GGUFLlamaConverter

    tokens, scores, types = build_vocab()
    backend = GGUFLlamaConverter({"tokens": tokens, "scores": scores, "token_type": types, "bos_token_id": BOS,
                                  "eos_token_id": EOS, "unknown_token_id": UNK}).converted()
    # The GGUF path names <s> as the EOS token too (a transformers slip) and adds no BOS: llama.cpp adds BOS
    # (the GGUF's add_bos_token), so a model trained on this tokenizer sees what llama-server will give it.
    return PreTrainedTokenizerFast(tokenizer_object=backend, bos_token=tokens[BOS], eos_token=tokens[EOS],
                                   unk_token=tokens[UNK], add_bos_token=True, add_eos_token=False,
                                   model_max_length=N_CTX)


def random_model(seed):
    import torch
    from transformers import LlamaForCausalLM

    torch.manual_seed(seed)
    return LlamaForCausalLM(llama_config(len(build_vocab()[0])))


def gguf_model(file):
    import importlib.metadata

    import gguf
    from transformers import AutoModelForCausalLM

    # Debian's gguf has no __version__ (and a stripped dist-info): transformers would read "N/A" and fail.
    if not getattr(gguf, "__version__", None):
        gguf.__version__ = importlib.metadata.version("gguf")
    folder, name = os.path.split(os.path.abspath(file))
    return AutoModelForCausalLM.from_pretrained(folder, gguf_file=name)


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", help="the folder to write (created; files in it are replaced)")
    parser.add_argument("--seed", type=int, default=1, help="random weights from this seed (default 1)")
    parser.add_argument("--from-gguf", metavar="FILE", help="take the weights of this tiny GGUF instead")
    args = parser.parse_args(argv)
    if args.from_gguf and not os.path.isfile(args.from_gguf):
        parser.error(f"--from-gguf {args.from_gguf}: no such file (write one with node scripts/tiny-gguf.mjs FILE)")

    model = gguf_model(args.from_gguf) if args.from_gguf else random_model(args.seed)
    tok = tokenizer()
    if model.config.vocab_size != len(tok):
        sys.exit(f"tiny_model: the model has {model.config.vocab_size} tokens, the tokenizer {len(tok)}: "
                 "is the GGUF one of scripts/tiny-gguf.mjs's defaults (not --no-fim)?")
    model.generation_config.bos_token_id, model.generation_config.eos_token_id = BOS, EOS
    model.generation_config.pad_token_id = EOS
    os.makedirs(args.out, exist_ok=True)
    model.save_pretrained(args.out)
    tok.save_pretrained(args.out)
    # safetensors writes 0600: a reader running as another user (an Ollama service) could not open the weights.
    for f in os.listdir(args.out):
        os.chmod(os.path.join(args.out, f), 0o644)
    source = f"from {args.from_gguf}" if args.from_gguf else f"seed {args.seed}"
    print(json.dumps({"out": os.path.abspath(args.out), "source": source, "vocab": len(tok),
                      "parameters": sum(p.numel() for p in model.parameters())}))


if __name__ == "__main__":
    main(sys.argv[1:])
