"""Fuzz the service over its own OpenAPI schema for N minutes and print what was found.

    .venv/bin/python bench/fuzz.py --minutes 10 [--adversarial]

Rounds over every operation with a new seed each, half the time with API keys
required and no valid key sent; a finding is a 5xx, a broken stream or a
request without a valid key that was not a 401 (tests/fuzzing.py). Exits 1 if
anything was found.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.fake_openai import FakeOpenAI, Reply  # noqa: E402
from tests.fuzzing import ADVERSARIAL, API_KEY, Report, fuzz, fuzz_settings, serve  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=1.0)
    parser.add_argument("--examples", type=int, default=50, help="requests per operation per round")
    parser.add_argument("--seed", type=int, default=int(time.time()))
    parser.add_argument(
        "--adversarial", action="store_true", help="send each request again with hostile strings; the model replies so"
    )
    args = parser.parse_args()

    upstream = FakeOpenAI(default=Reply(text=ADVERSARIAL[0]) if args.adversarial else Reply()).start()
    started = time.monotonic()
    keyed_until = started + args.minutes * 60 / 2
    total = Report()
    try:
        for keys_required, until in [(False, keyed_until), (True, started + args.minutes * 60)]:
            with (
                tempfile.TemporaryDirectory() as data,
                serve(fuzz_settings(Path(data), upstream, api_keys=[API_KEY])) as service,
            ):
                report = fuzz(
                    service,
                    examples=args.examples,
                    rounds_until=until,
                    with_key=None if keys_required else API_KEY,
                    keys_required=keys_required,
                    adversarial=args.adversarial,
                    random_seed=args.seed,
                )
            mode = "without a valid key" if keys_required else "with the key"
            print(f"{mode}: {report.requests} requests, {len(report.findings)} findings")
            print(f"  most CPU for one request: {report.most_cpu[0]:.2f} s, {report.most_cpu[1][:200]}")
            total.requests += report.requests
            total.findings += report.findings
    finally:
        upstream.stop()

    minutes = (time.monotonic() - started) / 60
    print(f"{total.requests} requests in {minutes:.1f} min (seed {args.seed}), {len(total.findings)} findings")
    for (operation, problem), count in Counter((f.operation, f.problem.split(":")[0]) for f in total.findings).items():
        example = next(f for f in total.findings if (f.operation, f.problem.split(":")[0]) == (operation, problem))
        print(f"\n{count} x {operation}: {problem}\n  e.g. {example.problem[:300]}\n  {example.request[:300]}")
    return 1 if total.findings else 0


if __name__ == "__main__":
    sys.exit(main())
