"""Timing shared by the HF transformers baselines bench_hf_decoder.py and bench_hf_llava.py (imported
from this folder, which Python puts first on the path when either script runs)."""
import time


def prefill_and_decode(model, inputs, steps, sync):
    """Greedy generation timed as generate() runs it: after `sync()`, one forward of `inputs` with the KV
    cache to the first token's id on the host, then `steps` decode steps, one forward per token.
    Returns the seconds to the first token, the seconds of the decode steps and the last token."""
    sync()
    start = time.perf_counter()
    out = model(**inputs, use_cache=True)
    token = out.logits[:, -1, :].argmax(-1, keepdim=True)
    token.item()
    first = time.perf_counter()
    past = out.past_key_values
    for _ in range(steps):
        out = model(input_ids=token, past_key_values=past, use_cache=True)
        past = out.past_key_values
        token = out.logits[:, -1, :].argmax(-1, keepdim=True)
        token.item()
    done = time.perf_counter()
    return first - start, done - first, int(token.item())
