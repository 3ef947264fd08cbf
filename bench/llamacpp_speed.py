"""Tokens per second of llama-cpp-python as installed, on a GGUF file: prompt
processing and generation. Run it with the interpreter of the build to measure
(the Makefile's portable build, or another), on the same file:

    .venv/bin/python bench/llamacpp_speed.py data/models/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf
    other-venv/bin/python bench/llamacpp_speed.py <the same file>

Only llama_cpp is imported, so any venv with llama-cpp-python runs it.
"""

from __future__ import annotations

import statistics
import sys
import time

from llama_cpp import Llama, llama_print_system_info

PROMPT = "Explain, step by step, how a lighthouse keeper in 1900 kept the lamp burning through a winter storm. " * 4
ROUNDS = 3
NEW_TOKENS = 128


def main(path: str) -> None:
    llm = Llama(model_path=path, n_ctx=2048, verbose=False, seed=0)
    print("build:", llama_print_system_info().decode().strip())
    prompt = llm.tokenize(PROMPT.encode())
    prompt_rates, gen_rates = [], []
    for _ in range(ROUNDS):
        llm.reset()
        started = time.perf_counter()
        llm.eval(prompt)
        prompt_rates.append(len(prompt) / (time.perf_counter() - started))
        started, made = time.perf_counter(), 0
        for _token in llm.generate([], temp=0.0, reset=False):
            made += 1
            if made == NEW_TOKENS:
                break
        gen_rates.append(made / (time.perf_counter() - started))
    print(
        f"{path.rsplit('/', 1)[-1]}: prompt {statistics.median(prompt_rates):.1f} tokens/s ({len(prompt)} tokens), "
        f"generation {statistics.median(gen_rates):.1f} tokens/s (median of {ROUNDS})"
    )


if __name__ == "__main__":
    main(sys.argv[1])
