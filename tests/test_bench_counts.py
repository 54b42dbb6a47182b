"""The counts the performance page prints from bench/bench.py (its configuration table), against hand counts."""
import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "bench"))
bench = pytest.importorskip("bench")


@pytest.mark.parametrize("config, by_hand", [
    # forward X W_ℓ and weight gradients A_{ℓ-1}ᵀ δ_ℓ for every layer, deltas δ_ℓ W_ℓᵀ for all but the first:
    # 2 operations per multiply-add, B rows
    ("tiny", 2 * 64 * (3 * (2 * 16 + 16 * 16 + 16 * 1) - 2 * 16)),                          # 112,640
    ("mnist", 2 * 128 * (3 * (784 * 128 + 128 * 10) - 784 * 128)),                       # 52,363,264
    ("large", 2 * 256 * (3 * (1024 * 1024 * 2 + 1024 * 10) - 1024 * 1024)),              # 2,700,083,200
])
def test_gemm_flops_counts_the_steps_matrix_products(config, by_hand):
    assert bench.gemm_flops(config) == by_hand
