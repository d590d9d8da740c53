#!/usr/bin/env python3
"""Xencode's LoRA trainer: the child process `xencode train` drives.

    python3 training/xencode_train.py --base MODEL --objective sft|dpo|kto --train FILE.jsonl [--eval FILE.jsonl]
        [--rank 8] [--alpha 16] [--epochs 3] [--lr 2e-4] [--max-steps N] [--batch-size 4] [--max-length 1024]
        [--gen-tokens 16] [--device cpu|cuda|mps] [--seed 0] [--targets q_proj,v_proj] --out DIR

stdout carries only the progress protocol, one JSON object per line (see xencode_training/protocol.py);
logs go to stderr. Exit 0 only when the adapter and its evaluation were written.
"""
import os
import sys

# The package sits beside this file; the trainer is run by path, never installed.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from xencode_training.main import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
