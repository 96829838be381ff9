"""Risk-scoring benchmark: how many messages a second one process can score.

    python -m benchmarks.risk [--messages 20000] [--file FILE]

Scores a mix of messages (the bundled independent labelled sets, or `--file`, cycled up
to `--messages`), after a warm-up that loads the lexicons and jieba. Reports messages/s
on one core, p50 and p99 per message, the same for long stories (600+ characters), and
what the scorer adds to the process's memory. The bot receives at most some hundred
messages a second (the throughput bench), so this should be far above that.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import time
from pathlib import Path

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures"
DEFAULT_FILES = tuple(
    FIXTURES / f"risk-{name}.jsonl" for name in ("futian", "chengdu", "hangzhou", "chongqing")
)


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _texts(files: list[Path]) -> list[str]:
    return [
        json.loads(line)["text"]
        for path in files
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]


def _p(samples: list[float], q: int) -> float:
    return statistics.quantiles(samples, n=100)[q - 1] if len(samples) > 1 else samples[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--file", type=Path, action="append")
    args = parser.parse_args()

    before = _rss_mb()
    from escalation.risk import load_scorer

    scorer = load_scorer()
    texts = _texts(args.file or list(DEFAULT_FILES))
    for text in texts[:200]:  # warm-up: lexicons, jieba's dictionary, caches
        scorer.score(text)
    loaded = _rss_mb()

    samples: list[float] = []
    start = time.perf_counter()
    for i in range(args.messages):
        t0 = time.perf_counter()
        scorer.score(texts[i % len(texts)])
        samples.append(time.perf_counter() - t0)
    elapsed = time.perf_counter() - start

    long = [t for t in texts if len(t) >= 600] or [max(texts, key=len) * 3]
    long_samples = []
    for i in range(500):
        t0 = time.perf_counter()
        scorer.score(long[i % len(long)])
        long_samples.append(time.perf_counter() - t0)

    print(f"risk: {args.messages} messages from {len(texts)} distinct texts, one process")
    print(
        f"  {args.messages / elapsed:,.0f} messages/s; per message p50 "
        f"{_p(samples, 50) * 1e3:.2f} ms, p99 {_p(samples, 99) * 1e3:.2f} ms"
    )
    print(
        f"  long stories ({min(len(t) for t in long)}+ chars): p50 "
        f"{_p(long_samples, 50) * 1e3:.2f} ms, p99 {_p(long_samples, 99) * 1e3:.2f} ms"
    )
    print(
        f"  memory: {loaded - before:.0f} MB for the scorer and jieba (peak RSS {loaded:.0f} MB)"
    )


if __name__ == "__main__":
    main()
