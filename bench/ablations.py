"""What each of MLP's economies buys, measured one at a time on the shapes of bench.py.

    python bench/ablations.py

Each row times the plain numpy way and bpnotes' way of one piece of the training step, on the layer shapes of
the 'large' configuration ([1024, 1024, ...], batch 256) and of the 'mnist' one ([784, 128, 10], batch 128),
median of many repeats, caches warm (bench.py measures whole steps with cold caches).
"""
import time

import numpy as np


def median_us(f, repeats=200):
    for _ in range(10): f()
    times = []
    for _ in range(repeats):
        start = time.perf_counter(); f(); times.append(time.perf_counter() - start)
    return np.median(times) * 1e6


def rows(B, fan_in, fan_out, dtype):
    rng = np.random.default_rng(0)
    A = np.tanh(rng.normal(size=(B, fan_in))).astype(dtype)
    A1 = np.ones((B, fan_in + 1), dtype); A1[:, :-1] = A
    theta = (rng.normal(size=(fan_in + 1, fan_out)) / np.sqrt(fan_in)).astype(dtype)
    W, b = theta[:-1], theta[-1]
    D = rng.normal(size=(B, fan_out)).astype(dtype)
    Z, G = np.empty((B, fan_out), dtype), np.empty_like(theta)
    H = np.tanh(rng.normal(size=(B, fan_out))).astype(dtype); T, D2 = np.empty_like(H), np.empty_like(D)
    flat, gflat = theta.reshape(-1).copy(), np.full(theta.size, 1e-3, dtype)
    scratch = np.empty((1 << 18) // np.dtype(dtype).itemsize, dtype)
    def chunked():
        for s in range(0, flat.size, scratch.size):
            e = min(flat.size, s + scratch.size)
            slab = np.multiply(gflat[s:e], 1e-6, out=scratch[:e - s]); np.subtract(flat[s:e], slab, out=flat[s:e])
    return [
        ("bias: A@W + b and sum(delta) separately", lambda: (A @ W + b, A.T @ D, D.sum(0)),
         "bias as a row of theta: [A,1]@theta, [A,1]^T delta", lambda: (np.matmul(A1, theta, out=Z), np.matmul(A1.T, D, out=G))),
        ("products into new arrays", lambda: (A @ W, A.T @ D),
         "products into reused arrays (out=)", lambda: (np.matmul(A, W, out=Z), np.matmul(A.T, D, out=G[:-1]))),
        ("tanh': delta * (1 - H**2)", lambda: D * (1 - H ** 2),
         "tanh' into reused arrays, three ufuncs with out=", lambda: (np.multiply(H, H, out=T), np.subtract(1, T, out=T), np.multiply(D, T, out=D2))),
        ("update: theta -= lr * g", lambda: flat.__isub__(1e-6 * gflat),
         "update a 256 KiB slab at a time", chunked),
    ]


def main():
    print(__doc__.splitlines()[0])
    for name, (B, fan_in, fan_out) in [('large layer', (256, 1024, 1024)), ('mnist first layer', (128, 784, 128))]:
        for dtype in ('float32', 'float64'):
            print(f"\n{name} (B={B}, {fan_in}->{fan_out}), {dtype}")
            for plain_name, plain, ours_name, ours in rows(B, fan_in, fan_out, dtype):
                p, o = median_us(plain), median_us(ours)
                print(f"  {plain_name:<42} {p:9.1f} us   {ours_name:<52} {o:9.1f} us   {(p - o) / p:+6.0%}")


if __name__ == '__main__':
    main()
