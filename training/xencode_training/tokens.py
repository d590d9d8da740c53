"""Text to token ids: the base's own tokenizer when it has one, else a byte-level fallback.

Byte-level fallback (a base folder with no tokenizer files, such as the project's tiny test models): the layout of
scripts/tiny-gguf.mjs's SentencePiece-style vocabulary, whose first 259 ids are
    0 <unk>, 1 <s> (BOS), 2 </s> (EOS), 3 + b = the byte token <0xBB> for every byte b of the UTF-8 text.
llama.cpp decodes those byte tokens back to the same bytes, so an adapter trained on them means the same text
there. Only the byte tokens are used (no merges into its normal pieces): correct, just longer sequences.

Every record is [BOS] + prompt + text + [EOS]: the text is what the model must learn to write, EOS included so it
learns to stop where the user's text stopped. transformers' GGUF tokenizer adds no BOS although the file says
`tokenizer.ggml.add_bos_token` (llama.cpp adds it), and takes <s> for EOS: the flag and the BOS/EOS ids are
read from the file itself.
"""
import os
from typing import List, Optional, Tuple

from .protocol import TrainerError, log

BYTE_OFFSET = 3
BOS_ID = 1
EOS_ID = 2
TOKENIZER_FILES = ("tokenizer.json", "tokenizer.model", "tokenizer_config.json", "vocab.json", "spiece.model")


class ByteTokenizer:
    name = "byte-fallback"
    bos_id: Optional[int] = BOS_ID
    eos_id: Optional[int] = EOS_ID

    def encode_prompt(self, prompt: str) -> List[int]:
        return [BOS_ID] + [BYTE_OFFSET + b for b in prompt.encode("utf-8")]

    def encode_pair(self, prompt: str, text: str) -> Tuple[List[int], List[int]]:
        return self.encode_prompt(prompt), [BYTE_OFFSET + b for b in text.encode("utf-8")] + [EOS_ID]

    def decode(self, ids: List[int]) -> str:
        data = bytes(i - BYTE_OFFSET for i in ids if BYTE_OFFSET <= i < BYTE_OFFSET + 256)
        return data.decode("utf-8", errors="replace")


class HfTokenizer:
    name = "base"

    def __init__(self, tok, add_bos: bool, special: Optional[dict] = None):
        self.tok = tok
        special = special or {}
        self.bos_id = special.get("bos", tok.bos_token_id)
        self.eos_id = special.get("eos", tok.eos_token_id)
        self.add_bos = add_bos and self.bos_id is not None

    def _encode(self, text: str) -> List[int]:
        ids = list(self.tok.encode(text, add_special_tokens=True))
        if self.add_bos and (not ids or ids[0] != self.bos_id):
            ids.insert(0, self.bos_id)
        return ids

    def encode_prompt(self, prompt: str) -> List[int]:
        return self._encode(prompt)

    def encode_pair(self, prompt: str, text: str) -> Tuple[List[int], List[int]]:
        # The text is tokenized as the continuation of its prompt (alone, a SentencePiece tokenizer would give it a
        # leading "▁"); where a token spans the boundary it counts as the text's.
        full = self._encode(prompt + text)
        head = self._encode(prompt)
        k = 0
        while k < min(len(full), len(head)) and full[k] == head[k]:
            k += 1
        k = min(k, len(full) - 1) if text else k
        text_ids = full[k:]
        if self.eos_id is not None and (not text_ids or text_ids[-1] != self.eos_id):
            text_ids.append(self.eos_id)
        return full[:k], text_ids

    def decode(self, ids: List[int]) -> str:
        return self.tok.decode(ids, skip_special_tokens=True)


def truncate(prompt_ids: List[int], text_ids: List[int], max_length: int, bos_id: Optional[int]) -> Tuple[List[int], List[int]]:
    """Fit max_length: the prompt loses its start (the code farthest from the cursor), keeping BOS; a text longer
    than the whole budget keeps its start."""
    keep_bos = bool(prompt_ids) and prompt_ids[0] == bos_id
    text_ids = text_ids[: max(1, max_length - (2 if keep_bos else 1))]
    room = max_length - len(text_ids)
    if len(prompt_ids) > room:
        prompt_ids = ([bos_id] + prompt_ids[len(prompt_ids) - room + 1:]) if keep_bos else prompt_ids[len(prompt_ids) - room:]
    return prompt_ids, text_ids


def _gguf_special(path: str) -> Tuple[bool, dict]:
    """(add BOS?, {bos, eos ids}) as the file says: transformers' GGUF tokenizer gets both wrong for a llama
    vocabulary (no BOS added; EOS set to <s>), and llama.cpp, which will run the adapter, follows the file."""
    import gguf

    fields = gguf.GGUFReader(path).fields

    def value(key):
        field = fields.get(key)
        return None if field is None else field.parts[field.data[0]][0].item()

    special = {k: int(v) for k, v in (("bos", value("tokenizer.ggml.bos_token_id")), ("eos", value("tokenizer.ggml.eos_token_id"))) if v is not None}
    return bool(value("tokenizer.ggml.add_bos_token")), special


def load_tokenizer(base: str, gguf_file: Optional[str], vocab_size: int):
    from transformers import AutoTokenizer

    if gguf_file is not None:
        try:
            tok = AutoTokenizer.from_pretrained(base, gguf_file=gguf_file)
        except Exception as e:  # noqa: BLE001 - any failure: the file's vocabulary is unusable here
            raise TrainerError(f"Cannot read the tokenizer of {os.path.join(base, gguf_file)} ({type(e).__name__}: {e}); "
                               "pass the model as a Hugging Face folder instead.")
        return HfTokenizer(tok, *_gguf_special(os.path.join(base, gguf_file)))
    if any(os.path.isfile(os.path.join(base, f)) for f in TOKENIZER_FILES):
        try:
            tok = AutoTokenizer.from_pretrained(base)
        except Exception as e:  # noqa: BLE001
            raise TrainerError(f"Cannot load the tokenizer in {base} ({type(e).__name__}: {e}): check its tokenizer files.")
        return HfTokenizer(tok, add_bos=False)  # an HF tokenizer adds its own BOS where its config says so
    if vocab_size < BYTE_OFFSET + 256:
        raise TrainerError(f"{base} has no tokenizer and its vocabulary ({vocab_size}) is too small for byte tokens: "
                           "add the base's tokenizer files to the folder.")
    log(f"{base} has no tokenizer files: using byte tokens (ids 3 + byte, BOS 1, EOS 2, the tiny GGUF's layout)")
    return ByteTokenizer()
