"""Builds the stand-in model the vllm role serves where no real model can be used (the lab, molecule).

A stand-in, not a language model: a randomly initialised Llama (LlamaForCausalLM, 2 layers, hidden
size 128, 4 attention heads, float32, about 2.5 MB) and a byte-level BPE tokenizer trained with the
`tokenizers` library on the text below, saved with save_pretrained into one directory that vLLM
loads like any Hugging Face model directory. Its completions are gibberish; what it proves is that
the serving path works: both servers load it, prefill computes the prompt's KV cache, decode pulls
those blocks through NIXL and generates, and the tokens match one server that computed everything
itself (greedy decoding of the same weights).

Deterministic: the same script, torch and transformers give the same files (a fixed seed, a fixed
corpus). Nothing is downloaded. Idempotent: when the directory already holds this recipe (its
MARKER file names RECIPE), nothing is written.

    python stand_in_model.py --out /var/lib/nixl-efa/hf-cache/nixl-efa-stand-in-llama [--owner vllm]

Prints one JSON line: {"changed": bool, "path": ..., "recipe": ..., "files": {name: bytes}}. Runs
with the vLLM venv's interpreter (torch, transformers and tokenizers come with vLLM).
"""

# ruff: noqa: PLC0415 (build() imports torch only when it builds)
import argparse
import json
import os
import shutil
import sys

# Bump when anything below changes what is written: the role then rebuilds the directory.
RECIPE = "nixl-efa-stand-in-llama/1"
MARKER = "nixl-efa-stand-in.json"

ARCHITECTURE = {
    "hidden_size": 128,
    "intermediate_size": 256,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "num_key_value_heads": 4,
    "max_position_embeddings": 1024,
}
VOCAB_SIZE = 512
SEED = 20261205
SPECIAL_TOKENS = ["<s>", "</s>", "<unk>"]

CORPUS = """\
The capital of France is Paris. The capital of Germany is Berlin. The capital of Japan is Tokyo.
A cluster of GPU nodes serves a language model in two parts: prefill reads the prompt and writes
its key and value cache, and decode reads that cache and writes one token after another.
The prefill server keeps the blocks of the cache until the decode server has pulled them over the
network. The transfer library registers memory once and moves blocks between the two servers.
Every node is reached through Session Manager; no node listens on port 22.
Capacity blocks reserve accelerated instances for a number of days at a price known in advance.
The quick brown fox jumps over the lazy dog. Numbers: 0 1 2 3 4 5 6 7 8 9 10 100 1000.
Questions and answers: what is the time to first token? How many tokens per second does it write?
"""


def build(out):
    # Imported here: a node whose stand-in is already built never loads torch (seconds of CPU).
    import torch
    from tokenizers import Tokenizer
    from tokenizers import decoders
    from tokenizers import models
    from tokenizers import pre_tokenizers
    from tokenizers import trainers
    from transformers import LlamaConfig
    from transformers import LlamaForCausalLM
    from transformers import PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.BPE(unk_token="<unk>"))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB_SIZE,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(CORPUS.splitlines(), trainer=trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer, bos_token="<s>", eos_token="</s>", unk_token="<unk>", model_max_length=1024
    )

    torch.manual_seed(SEED)
    config = LlamaConfig(
        vocab_size=len(fast),
        bos_token_id=fast.bos_token_id,
        eos_token_id=fast.eos_token_id,
        tie_word_embeddings=False,
        torch_dtype="float32",
        **ARCHITECTURE,
    )
    model = LlamaForCausalLM(config).to(torch.float32)
    model.save_pretrained(out, safe_serialization=True)
    fast.save_pretrained(out)


def current(out):
    try:
        with open(os.path.join(out, MARKER), encoding="utf-8") as handle:
            return json.load(handle).get("recipe") == RECIPE
    except (OSError, ValueError, AttributeError):
        return False


def files(out):
    return {name: os.path.getsize(os.path.join(out, name)) for name in sorted(os.listdir(out))}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="the model directory to write")
    parser.add_argument("--owner", default="", help="user that owns the directory and its files")
    args = parser.parse_args(argv)
    out = os.path.abspath(args.out)
    changed = not current(out)
    if changed:
        work = out + ".partial"
        shutil.rmtree(work, ignore_errors=True)
        build(work)
        with open(os.path.join(work, MARKER), "w", encoding="utf-8") as handle:
            json.dump({"recipe": RECIPE, "seed": SEED, "architecture": ARCHITECTURE}, handle, sort_keys=True)
            handle.write("\n")
        if args.owner:
            for path in [work] + [os.path.join(work, name) for name in os.listdir(work)]:
                shutil.chown(path, args.owner, args.owner)
        shutil.rmtree(out, ignore_errors=True)
        os.rename(work, out)
    print(json.dumps({"changed": changed, "path": out, "recipe": RECIPE, "files": files(out)}, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
