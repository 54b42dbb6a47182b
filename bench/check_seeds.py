"""How long `bpnotes check`'s derivation checks take on many seeds: the sweep tests/test_derivation_checks.py runs.

    python bench/check_seeds.py            # 200 seeds, one combination per row, as the test does
    python bench/check_seeds.py --seeds 50

Prints the processor and wall time of the sweep and how many rows failed (the test asserts none).
"""
import argparse
import time

from bpnotes.derivations import derivation_checks


def sweep(seeds):
    "Run every row on seeds 0 … seeds − 1; the number of failed rows"
    return sum(not row.passed for seed in range(seeds) for row in derivation_checks(seed, per_row=1))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=200, help="how many seeds (default 200)")
    args = parser.parse_args()
    cpu, wall = time.process_time(), time.perf_counter()
    failed = sweep(args.seeds)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    print(f"{args.seeds} seeds: {failed} failed rows; {cpu:.1f} s of processor time, {wall:.1f} s wall")


if __name__ == "__main__":
    main()
