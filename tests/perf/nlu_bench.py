"""Cost of understanding one message: the rules alone vs. the rules with the intent model.

Run: ``python -m tests.perf.nlu_bench [--rounds 7]``

Reads every labelled example (``knowledge/data/nlu/examples``: thousands of realistic
messages, short and long, with numbers, typos and emoji) with two Understanders
built once: rules only (``model=False``) and the shipped one (rules + model).
Each message is timed alone (``perf_counter_ns`` around one ``understand`` call)
in each of ``--rounds`` passes, interleaving the two readers; a message's cost
is its fastest pass (the least disturbed by the machine), and the report gives
the median and the 90th/99th percentiles over messages in µs.  The budget is
a 50 µs median.  Also prints the start-up cost: building each Understander
(lexicon, trie, artifact) and loading the model artifact alone.

Not collected by pytest (it measures, it does not assert).
"""

from __future__ import annotations

import argparse
import gc
import statistics
import time
from collections.abc import Callable

from wxloan.handlers.nlu import Understander
from wxloan.handlers.nlu.classifier import Classifier
from wxloan.handlers.nlu.examples import load_examples


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _ms(build: Callable[[], object]) -> float:
    started = time.perf_counter()
    build()
    return (time.perf_counter() - started) * 1e3


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=7)
    args = ap.parse_args()

    texts = [e.text for e in load_examples()]
    print(f"{len(texts)} messages, {args.rounds} rounds, fastest pass per message")
    print(
        f"start-up: Understander rules only {_ms(lambda: Understander(model=False)):.0f} ms, "
        f"with the model {_ms(Understander):.0f} ms; "
        f"the artifact alone {_ms(Classifier.load):.0f} ms"
    )
    readers = {"rules only": Understander(model=False), "rules + model": Understander()}
    best: dict[str, list[int]] = {name: [1 << 62] * len(texts) for name in readers}
    clock = time.perf_counter_ns
    for reader in readers.values():  # warm the numeral caches, as a running bot has
        for t in texts:
            reader.understand(t)
    gc.disable()
    try:
        for _ in range(args.rounds):
            for i, t in enumerate(texts):
                for name, reader in readers.items():
                    started = clock()
                    reader.understand(t)
                    elapsed = clock() - started
                    best[name][i] = min(best[name][i], elapsed)
    finally:
        gc.enable()
    for name, costs in best.items():
        us = [c / 1e3 for c in costs]
        print(
            f"{name:14} median {statistics.median(us):5.1f} µs  p90 {_percentile(us, 0.9):5.1f}"
            f"  p99 {_percentile(us, 0.99):5.1f}  mean {statistics.fmean(us):5.1f}"
        )
    reader = readers["rules + model"]
    model = reader.model
    if model is not None:
        prepared = [reader.model_input(t) for t in texts]
        costs = []
        for t in prepared:
            started = clock()
            model.predict(t, ("rule:no_intent",))
            costs.append((clock() - started) / 1e3)
        print(f"{'model alone':14} median {statistics.median(costs):5.1f} µs ({model.size} n-grams)")


if __name__ == "__main__":
    main()
