"""The progress protocol on stdout: one JSON object per line, nothing else.

Events, in order:
  {"event":"start", "total_steps", "objective", "records", "eval_records", "device", "dtype", "base", "tokenizer",
   "trainable_params", "epochs", "batch_size", "rank", "alpha", "targets"}
  {"event":"eval", "phase":"before"|"after", ...metrics}           (see evaluate.py)
  {"event":"step", "step", "total", "loss", "lr", "elapsed_s", "eta_s"}   (one per optimizer step)
  {"event":"done", "out", "files", "steps", "elapsed_s", "evaluation"}
or, at any point, {"event":"error", "message"} as the last line and a non-zero exit code.
Everything else (logs, warnings, library chatter) goes to stderr.
"""
import json
import math
import sys

# Exit codes: what went wrong, for a caller that wants more than "non-zero".
EXIT_UNEXPECTED = 1
EXIT_USAGE = 2  # bad arguments or input files
EXIT_ENVIRONMENT = 3  # PyTorch/transformers missing, device unavailable


class TrainerError(Exception):
    """A failure with a message that says what to do; becomes the error event."""

    def __init__(self, message: str, code: int = EXIT_USAGE):
        super().__init__(message)
        self.message = message
        self.code = code


# Library code may print to stdout (warnings, progress bars); the real stdout is kept for the protocol alone and
# sys.stdout is pointed at stderr before anything else is imported.
_protocol_out = sys.stdout


def claim_stdout() -> None:
    global _protocol_out
    _protocol_out = sys.stdout
    sys.stdout = sys.stderr


def clean(value):
    """JSON has no NaN/Infinity: they become null so every line parses."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean(v) for v in value]
    return value


def emit(event: str, **fields) -> None:
    _protocol_out.write(json.dumps(clean({"event": event, **fields}), allow_nan=False) + "\n")
    _protocol_out.flush()


def log(message: str) -> None:
    print(f"xencode-train: {message}", file=sys.stderr, flush=True)
