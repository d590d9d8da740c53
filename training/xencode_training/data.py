"""The training data: the JSONL rows `xencode feedback export --format sft|dpo|kto` writes (TRL's column names).

  sft  {"prompt", "completion"}           completion = what the user kept
  dpo  {"prompt", "chosen", "rejected"}   chosen = kept, rejected = a text of the same request the user did not keep
  kto  {"prompt", "completion", "label"}  label = the user wanted that completion

Every row becomes a Record: `text` is the completion (sft, kto) or the chosen text (dpo), `other` the rejected
text (dpo), `label` the KTO label (True for sft and dpo: their text is wanted). Extra columns are ignored.
"""
import json
import random
from dataclasses import dataclass
from typing import List, Optional, Tuple

from .protocol import TrainerError

MIN_TRAIN_RECORDS = 8
EVAL_FRACTION = 0.1
MIN_EVAL_RECORDS = 2

COLUMNS = {"sft": ("prompt", "completion"), "dpo": ("prompt", "chosen", "rejected"), "kto": ("prompt", "completion", "label")}


@dataclass(frozen=True)
class Record:
    prompt: str
    text: str
    other: Optional[str] = None
    label: bool = True


def _guess_format(row: dict) -> Optional[str]:
    keys = set(row)
    for name in ("dpo", "kto", "sft"):  # most specific first: kto's columns include sft's
        if set(COLUMNS[name]) <= keys:
            return name
    return None


def read_records(path: str, objective: str) -> List[Record]:
    records = []
    try:
        with open(path, encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as e:
                    raise TrainerError(f"{path}:{n} is not JSON ({e.msg}): the data must be JSONL, one object a line.")
                records.append(_record(row, objective, path, n))
    except UnicodeDecodeError:
        raise TrainerError(f"{path} is not UTF-8 text: pass the JSONL that `xencode feedback export` writes.")
    except OSError as e:
        raise TrainerError(f"Cannot read {path}: {e.strerror}.")
    return records


def _record(row, objective: str, path: str, n: int) -> Record:
    if not isinstance(row, dict):
        raise TrainerError(f"{path}:{n} is not a JSON object: the data must be JSONL, one object a line.")
    missing = [c for c in COLUMNS[objective] if c not in row]
    if missing:
        guess = _guess_format(row)
        hint = (f" it looks like a {guess} export: pass --objective {guess}, or export again with --format {objective}."
                if guess and guess != objective else f" export with `xencode feedback export --format {objective}`.")
        raise TrainerError(f"{path}:{n} lacks {', '.join(missing)} for --objective {objective};{hint}")
    for c in COLUMNS[objective]:
        want = bool if c == "label" else str
        if not isinstance(row[c], want):
            raise TrainerError(f"{path}:{n}: '{c}' must be a {'boolean' if want is bool else 'string'}.")
    if objective == "sft":
        return Record(row["prompt"], row["completion"])
    if objective == "dpo":
        return Record(row["prompt"], row["chosen"], other=row["rejected"])
    return Record(row["prompt"], row["completion"], label=row["label"])


def load_data(train_path: str, eval_path: Optional[str], objective: str, seed: int) -> Tuple[List[Record], List[Record], bool]:
    """(train, eval, held_out): without an eval file, a seeded 10% (at least 2) of the training file is held out."""
    train = read_records(train_path, objective)
    held_out = eval_path is None
    if held_out:
        n_eval = max(MIN_EVAL_RECORDS, round(len(train) * EVAL_FRACTION))
        if len(train) - n_eval < MIN_TRAIN_RECORDS:
            raise TrainerError(_too_few(len(train), train_path, MIN_TRAIN_RECORDS + n_eval,
                                        f" ({MIN_TRAIN_RECORDS} to train on and {n_eval} held out: or pass --eval FILE)"))
        order = list(range(len(train)))
        random.Random(seed).shuffle(order)
        evals = [train[i] for i in sorted(order[:n_eval])]
        train = [train[i] for i in sorted(order[n_eval:])]
    else:
        evals = read_records(eval_path, objective)
        if len(train) < MIN_TRAIN_RECORDS:
            raise TrainerError(_too_few(len(train), train_path, MIN_TRAIN_RECORDS, ""))
        if not evals:
            raise TrainerError(f"The --eval file {eval_path} has no records: hold out a few exported rows in it.")
    return train, evals, held_out


def _too_few(n: int, path: str, need: int, detail: str) -> str:
    return (f"Too little data: {n} record{'s' if n != 1 else ''} in {path}, LoRA training needs at least {need}{detail}. "
            "Use Xencode longer to collect feedback, or export without --since/--language filters.")
