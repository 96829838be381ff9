"""Retrieval benchmark: index build time, query latency and memory, at two KB sizes.

    python -m benchmarks.retrieval [--source-kb FILE] [--queries FILE] [--entries 20000]

The large KB replicates the source KB's entries with perturbed questions (characters
swapped, dropped or borrowed from other entries), so postings grow as in a real large KB.
Latency is per query, end to end (normalise, segment, generate, features, models).
"""

from __future__ import annotations

import argparse
import json
import random
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from knowledge.engine import Engine
from knowledge.evaluate import LabelledQuery, load_queries
from knowledge.kb import BUNDLED_KB, BUNDLED_QUERIES, Entry, KnowledgeBase, load_kb


def rss_mib() -> float:
    """Return this process's resident memory in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def perturb(text: str, rng: random.Random, pool: str) -> str:
    """Return the text with a few characters swapped, dropped or replaced."""
    chars = list(text)
    for _ in range(max(1, len(chars) // 6)):
        if len(chars) < 3:
            break
        i = rng.randrange(len(chars))
        op = rng.random()
        if op < 0.4:
            chars[i] = rng.choice(pool)
        elif op < 0.7:
            del chars[i]
        else:
            j = rng.randrange(len(chars))
            chars[i], chars[j] = chars[j], chars[i]
    return "".join(chars)


def synthetic_kb(source: KnowledgeBase, size: int, seed: int = 7) -> KnowledgeBase:
    """Replicate the source entries, with perturbed questions, up to `size` entries."""
    rng = random.Random(seed)
    pool = "".join({ch for e in source.entries for q in e.questions for ch in q if ch.strip()})
    entries: list[Entry] = list(source.entries)
    copy = 0
    while len(entries) < size:
        copy += 1
        for e in source.entries:
            if len(entries) >= size:
                break
            questions = tuple(perturb(q, rng, pool) for q in e.questions)
            entries.append(replace(e, id=f"{e.id}-r{copy}", questions=questions))
    return replace(source, entries=tuple(entries), path=None)


def measure(kb: KnowledgeBase, queries: Sequence[LabelledQuery], rounds: int) -> dict[str, float]:
    """Build an engine for the KB and time every query `rounds` times."""
    before = rss_mib()
    start = time.perf_counter()
    engine = Engine(kb, use_calibration=False)
    build_s = time.perf_counter() - start
    after = rss_mib()
    for q in queries[:20]:  # warm caches (pinyin, jieba) before timing
        engine.answer(q.query, q.audience)
    times = []
    for _ in range(rounds):
        for q in queries:
            t0 = time.perf_counter()
            engine.answer(q.query, q.audience)
            times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    return {
        "entries": len(kb.entries),
        "build_s": round(build_s, 2),
        "p50_ms": round(times[len(times) // 2], 3),
        "p99_ms": round(times[int(len(times) * 0.99)], 3),
        "max_ms": round(times[-1], 3),
        "queries_timed": len(times),
        "rss_mib_after_build": round(after, 1),
        "rss_mib_index": round(after - before, 1),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source-kb", type=Path, default=BUNDLED_KB)
    parser.add_argument("--queries", type=Path, default=BUNDLED_QUERIES)
    parser.add_argument("--entries", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", type=Path, help="also write the report here")
    args = parser.parse_args(argv)
    source = load_kb(args.source_kb)
    queries = load_queries(args.queries)
    report = {
        "source_kb": str(args.source_kb),
        "small": measure(source, queries, args.rounds),
        "large": measure(synthetic_kb(source, args.entries), queries, args.rounds),
    }
    report["p50_ratio_large_to_small"] = round(
        report["large"]["p50_ms"] / report["small"]["p50_ms"],  # type: ignore[index]
        2,
    )
    text = json.dumps(report, ensure_ascii=False, indent=1)
    print(text)
    if args.json:
        args.json.write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
