"""`B001`'s "did you mean" on a large fleet: clawctl's suggestions against difflib in the same run.

    python bench/suggest.py [--agents 10000] [--words 200] [--repeat 3]

Takes the agent ids of a generated fleet (bench/gen_fleet.py, seed 1), misspells ``--words`` of them
(one character changed, fixed seed), and times ``clawctl.core.suggest.closest`` (rapidfuzz) and
``difflib.get_close_matches(word, ids, n=1)`` (what it replaced) over the same words, interleaved,
``--repeat`` times; CPU time of this process, medians. Prints ms per word, the ratio, and how many of
the suggestions are the same. Target: the whole suggestion step for 1,000 misspelt backups in a
10,000-agent fleet under 1 s (10x difflib at least). Exit 0 met, 1 missed.
A benchmark, not a test (ARCHITECTURE.md habit 12): the test suite never asserts on times.
"""

from __future__ import annotations

import argparse
import difflib
import random
import re
import statistics
import sys
import time

from gen_fleet import generate  # bench/ is not a package: imported from this folder


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--agents", type=int, default=10_000)
    ap.add_argument("--words", type=int, default=200)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    from clawctl.core import suggest

    ids, inside = [], False
    for line in generate(args.agents, 1).splitlines():  # the keys of the top-level `agents` mapping
        if line and not line[0].isspace():
            inside = line.startswith("agents:")
        elif inside and (m := re.match(r"^  ([A-Za-z0-9_.-]+):\s*$", line)):
            ids.append(m.group(1))
    rng = random.Random(7)
    words = []
    for _ in range(args.words):
        name = rng.choice(ids)
        i = rng.randrange(len(name))
        words.append(name[:i] + "x" + name[i + 1:])
    print(f"{len(ids):,} agent ids, {len(words)} misspelt words; {args.repeat} timed runs each, interleaved")
    ours, theirs = [], []
    for _ in range(args.repeat):
        suggest._closest.cache_clear()
        t0 = time.process_time()
        a = [suggest.closest(w, ids) for w in words]
        ours.append((time.process_time() - t0) / len(words))
        n = max(1, len(words) // 10)  # difflib is slow: a tenth of the words, per word
        t0 = time.process_time()
        b = [(difflib.get_close_matches(w, ids, n=1) or [None])[0] for w in words[:n]]
        theirs.append((time.process_time() - t0) / n)
    same = sum(x == y for x, y in zip(a, b))
    o, t = statistics.median(ours), statistics.median(theirs)
    per_1000 = o * 1000
    print(f"clawctl (rapidfuzz): {o * 1e3:.3f} ms per word; difflib: {t * 1e3:.2f} ms per word; ratio {t / o:.1f}x")
    print(f"same suggestion as difflib: {same} of {len(b)}")
    met = per_1000 < 1.0 and t / o >= 10
    print(f"1,000 misspelt backups: {per_1000:.2f} s of suggestions (target < 1 s, >= 10x difflib): "
          f"{'met' if met else 'MISSED'}")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
