"""Xencode's LoRA trainer (torch + transformers + safetensors only). Entry point: training/xencode_train.py."""
