"""Greedy tokens of models loaded by transformers, for test/training/python.test.ts.

    greedy.py --prompt TEXT --n N MODEL...     MODEL: a Hugging Face folder or a .gguf file

Prints a JSON list, one entry per model: {model, config (the architecture keys), encoded (what the model's own
tokenizer gives for the prompt), tokens (N greedy tokens after BOS + the prompt)}. Greedy by hand (argmax, no
generation config), so an end-of-text token does not stop it: like llama-server's ignore_eos.
"""
import argparse
import json
import os

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

CONFIG_KEYS = ["model_type", "vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
               "num_key_value_heads", "head_dim", "max_position_embeddings", "rms_norm_eps", "rope_theta",
               "tie_word_embeddings", "bos_token_id", "eos_token_id"]


def load(model):
    if os.path.isfile(model):
        # No gguf.__version__ fix here: the test proves the python it runs loads a GGUF as it is.
        folder, name = os.path.split(os.path.abspath(model))
        return (AutoModelForCausalLM.from_pretrained(folder, gguf_file=name),
                AutoTokenizer.from_pretrained(folder, gguf_file=name))
    return AutoModelForCausalLM.from_pretrained(model), AutoTokenizer.from_pretrained(model)


def config_of(model):
    c = model.config
    values = {k: getattr(c, k, None) for k in CONFIG_KEYS}
    values["rope_theta"] = (getattr(c, "rope_parameters", None) or {}).get("rope_theta", values["rope_theta"])
    values["rms_norm_eps"] = round(float(values["rms_norm_eps"]), 9)  # the GGUF stores it as float32
    return values


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--prompt", required=True)
    parser.add_argument("--n", type=int, default=16)
    parser.add_argument("models", nargs="+")
    args = parser.parse_args()
    results = []
    for path in args.models:
        model, tok = load(path)
        model.eval()
        encoded = tok(args.prompt)["input_ids"]
        bos = model.config.bos_token_id
        ids = encoded if encoded[:1] == [bos] else [bos] + encoded
        out = []
        with torch.no_grad():
            x = torch.tensor([ids])
            for _ in range(args.n):
                logits = model(x).logits[0, -1]
                if not torch.isfinite(logits).all():
                    raise SystemExit(f"{path}: non-finite logits")
                nxt = int(torch.argmax(logits))
                out.append(nxt)
                x = torch.cat([x, torch.tensor([[nxt]])], dim=1)
        results.append({"model": path, "config": config_of(model), "encoded": encoded, "tokens": out})
    print(json.dumps(results))


if __name__ == "__main__":
    main()
