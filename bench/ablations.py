"""What each of MLP's economies changes, and where its step spends the rest of its time.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python bench/ablations.py          # a few minutes
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python bench/ablations.py --quick  # 5 rounds instead of 15

1. ladder: from the plain numpy step of bench.py to bpnotes' MLP, one economy added per rung, on the
   configurations of bench.py (tanh hidden layers, mean squared error), timed with bench.py's protocol:
   blocks of consecutive steps (50 ms), rotated between the rungs, median over rounds. Every rung computes
   the same gradients (checked before timing). The last rung is the MLP itself, with every check it makes;
   its difference from the rung before is what the checks and the per-step bookkeeping cost.
2. tanh: np.tanh against tanh through one exponential, by array size (MLP's thresholds).
3. slabs: the update Θ ← Θ − α g of all the large network's parameters Θ, a slab at a time, by slab size
   (MLP's slab).
4. profile: where the MLP's step spends its time, section by section (matrix products, activations, ...),
   from timers around each section of a step that makes the MLP's own calls in the MLP's order.

Lines of output are at most 80 characters: the performance page prints them.
"""
import argparse
import json
import math
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench                                                              # noqa: E402  (problems, protocol)
from bpnotes.mlp import MLP, _EXP_TANH_FROM, _tanh_via_exp                # noqa: E402

LR = bench.LR


def _tanh(Z): np.tanh(Z, out=Z)


def ladder_step(params, X, y, sum_by_gemv=False, one_vector=False, exp_tanh=False):
    """One training step (mean squared error, tanh hidden layers) written into arrays made once, with the
    economies asked for; returns (step, grads) like bench.py's implementations"""
    dtype, B, depth = X.dtype, len(X), len(params)
    widths = [W.shape[1] for W, _ in params]
    if one_vector:                                         # W̃_ℓ = (W_ℓ; b_ℓ) per layer, all in one vector Θ
        sizes = [params[0][0].shape[0]] + widths
        flat = np.empty(sum((i + 1) * o for i, o in zip(sizes, sizes[1:])), dtype)
        gflat = np.empty_like(flat)
        thetas, gs, start = [], [], 0
        for (W, b), i, o in zip(params, sizes, sizes[1:]):
            thetas.append(flat[start:start + (i + 1) * o].reshape(i + 1, o))
            gs.append(gflat[start:start + (i + 1) * o].reshape(i + 1, o))
            thetas[-1][:-1], thetas[-1][-1] = W, b
            start += (i + 1) * o
        Ws, bs = [t[:-1] for t in thetas], [t[-1] for t in thetas]
        dWs, dbs = [g[:-1] for g in gs], [g[-1] for g in gs]
        scratch = np.empty(min(flat.size, MLP._CHUNK_BYTES // dtype.itemsize), dtype)
    else:
        Ws, bs = [W.copy() for W, _ in params], [b.copy() for _, b in params]
        dWs, dbs = [np.empty_like(W) for W in Ws], [np.empty_like(b) for b in bs]
        tmps = [np.empty_like(W) for W in Ws] + [np.empty_like(b) for b in bs]
    A = [np.empty((B, w), dtype) for w in widths]
    D = [np.empty((B, w), dtype) for w in widths]
    T = [np.empty((B, w), dtype) for w in widths]
    ones = np.ones(B, dtype)
    acts = [(_tanh_via_exp if exp_tanh and a.size >= _EXP_TANH_FROM[dtype] else _tanh) for a in A[:-1]]

    def loss_and_grads():
        with np.errstate(over='ignore', invalid='ignore'):
            inp = X
            for l in range(depth):
                np.matmul(inp, Ws[l], out=A[l])
                np.add(A[l], bs[l], out=A[l])
                if l < depth - 1: acts[l](A[l])
                inp = A[l]
            np.subtract(A[-1], y, out=D[-1])
            np.multiply(D[-1], 2 / D[-1].size, out=D[-1])
            for l in reversed(range(depth)):
                np.matmul((A[l - 1] if l else X).T, D[l], out=dWs[l])
                if sum_by_gemv: np.matmul(ones, D[l], out=dbs[l])
                else: np.sum(D[l], axis=0, out=dbs[l])
                if l:
                    np.matmul(D[l], Ws[l].T, out=D[l - 1])
                    np.multiply(A[l - 1], A[l - 1], out=T[l - 1])
                    np.subtract(1, T[l - 1], out=T[l - 1])
                    np.multiply(D[l - 1], T[l - 1], out=D[l - 1])

    def step():
        loss_and_grads()
        if one_vector:
            for s in range(0, flat.size, scratch.size):
                e = min(flat.size, s + scratch.size)
                np.subtract(flat[s:e], np.multiply(gflat[s:e], LR, out=scratch[:e - s]), out=flat[s:e])
        else:
            for p, g, t in zip(Ws + bs, dWs + dbs, tmps):
                np.subtract(p, np.multiply(g, LR, out=t), out=p)

    def grads():
        loss_and_grads()
        return [(dW.astype(np.float64), db.astype(np.float64)) for dW, db in zip(dWs, dbs)]
    return step, grads


RUNGS = {
    'plain numpy (bench.py)': lambda p, X, y: bench.numpy_impl(p, X, y, 'mse'),
    '+ arrays made once (out=)': lambda p, X, y: ladder_step(p, X, y),
    '+ sum of deltas as 1ᵀδ': lambda p, X, y: ladder_step(p, X, y, sum_by_gemv=True),
    '+ one parameter vector': lambda p, X, y: ladder_step(p, X, y, True, True),
    '+ tanh through exp': lambda p, X, y: ladder_step(p, X, y, True, True, True),
    'bpnotes MLP, with its checks': lambda p, X, y: bench.bpnotes_impl(p, X, y, 'mse'),
}


def tanh_rung_is_idle(config, dtype):
    "True where '+ tanh through exp' changes no code: every hidden layer is below MLP's switch"
    sizes, B = bench.CONFIGS[config]
    return all(B * width < _EXP_TANH_FROM[np.dtype(dtype)] for width in sizes[1:-1])

def mlp_switch(dtype):
    "The number of values from which MLP computes tanh through one exponential"
    return _EXP_TANH_FROM[np.dtype(dtype)]

def ladder(rounds, configs, dtypes, wait_quiet=False):
    "Part 1: time each rung from plain numpy to the MLP, every rung checked against the MLP's gradients"
    print("1. From plain numpy to bpnotes, one economy at a time: ms per training step,")
    print("   median of blocks; in brackets, the change from the rung above")
    out = []
    for config in configs:
        for dtype in dtypes:
            params, X, y = bench.problem(config, dtype, 'mse')
            impls = {name: make(params, X, y) for name, make in RUNGS.items()}
            ref = bench.gradient_vector(impls['bpnotes MLP, with its checks'][1]())
            for name, (_, grads) in impls.items():
                err = bench.max_relative_difference(bench.gradient_vector(grads()), ref)
                assert err < (1e-12 if dtype == 'float64' else 1e-4), (config, dtype, name, err)
            steps = {k: v[0] for k, v in impls.items()}
            times, _, load = bench.timed_quietly(
                lambda: bench.time_blocks(steps, rounds, block_s=0.05, pause_s=0.05), wait_quiet)
            sizes, B = bench.CONFIGS[config]
            print(f"\n{config} {sizes} batch {B}, {dtype} (others used {load:.0%} of the CPUs)")
            before, rows = None, {}
            for name, t in times.items():
                ms = rows[name] = float(np.median(t))
                change = f"({(ms - before) / before:+.0%})" if before else ''
                print(f"  {name:<32} {ms:9.3f} ms  {change:>7}")
                before = ms
            out.append(dict(config=config, dtype=dtype, others_load=load, median_ms=rows))
    return out


def per_call_us(f, block_s=0.02, rounds=9):
    "Median over rounds of blocks of the time of one call, in µs"
    f()
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < block_s / 4: f(); n += 1
    n = max(1, math.ceil(block_s / ((time.perf_counter() - start) / n)))
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(n): f()
        times.append((time.perf_counter() - start) / n)
    return float(np.median(times)) * 1e6


def tanh_crossover(rounds):
    "Part 2: np.tanh against tanh through one exponential, over array sizes: the evidence for _EXP_TANH_FROM"
    print("\n2. np.tanh against tanh through one exponential (five numpy calls), µs per")
    print("   array; MLP switches at", ', '.join(f"{n:,} values ({d})" for d, n in _EXP_TANH_FROM.items()))
    print(f"  {'values':>9} {'float32 tanh':>13} {'via exp':>8} {'float64 tanh':>13} {'via exp':>8}")
    out = []
    with np.errstate(over='ignore'):
        for n in [256, 1024, 4096, 16384, 65536, 262144]:
            row = []
            for dtype in ('float32', 'float64'):
                z = np.random.default_rng(0).normal(size=n).astype(dtype) * 2
                Z = np.empty_like(z)
                row += [per_call_us(lambda: (np.copyto(Z, z), _tanh(Z)), rounds=rounds),
                        per_call_us(lambda: (np.copyto(Z, z), _tanh_via_exp(Z)), rounds=rounds)]
            print(f"  {n:>9,} {row[0]:13.1f} {row[1]:8.1f} {row[2]:13.1f} {row[3]:8.1f}")
            out.append(dict(values=n, float32=row[:2], float64=row[2:]))
    return out


def slab_sizes(rounds):
    "Part 3: the update Θ ← Θ − α g of the large network, for several scratch (slab) sizes"
    n = sum((i + 1) * o for i, o in zip(bench.CONFIGS['large'][0], bench.CONFIGS['large'][0][1:]))
    print(f"\n3. The update Θ ← Θ − α g, large network ({n:,} parameters), µs:")
    print(f"  {'slab':>9} {'float32':>9} {'float64':>9}")
    rows = {}
    for dtype in ('float32', 'float64'):
        rng = np.random.default_rng(0)
        theta, g = rng.normal(size=n).astype(dtype), (rng.normal(size=n) * 1e-3).astype(dtype)
        for label, nbytes in [('64 KiB', 1 << 16), ('256 KiB', 1 << 18), ('1 MiB', 1 << 20), ('4 MiB', 1 << 22),
                              ('whole', n * np.dtype(dtype).itemsize)]:
            s = np.empty(nbytes // np.dtype(dtype).itemsize, dtype)
            def update():
                for a in range(0, n, s.size):
                    e = min(n, a + s.size)
                    np.subtract(theta[a:e], np.multiply(g[a:e], 1e-9, out=s[:e - a]), out=theta[a:e])
            rows.setdefault(label, []).append(per_call_us(update, block_s=0.05, rounds=rounds))
        rows.setdefault('Θ -= α*g', []).append(per_call_us(lambda: theta.__isub__(1e-9 * g), block_s=0.05,
                                                           rounds=rounds))
    for label, (t32, t64) in rows.items():
        print(f"  {label:>9} {t32:9.0f} {t64:9.0f}")
    print(f"  MLP's slab: {MLP._CHUNK_BYTES // 1024:,} KiB")
    return rows


SECTIONS = ['matrix products', 'activations', 'bias additions', 'slopes 1 − A²', 'Σδ as 1ᵀδ', 'loss',
            'checks', 'update', 'the rest (Python)']


def profiled_step(net, X, y, grads):
    """A step that makes the calls of MLP.loss_and_grads and MLP.step in their order (the fast path: X, y
    of the right dtype, grads of this network), adding the time of each to its section in `acc`"""
    import bpnotes.mlp as mlp
    acc = dict.fromkeys(SECTIONS[:-1] + ['step'], 0.0)
    clock = time.perf_counter
    scratch = net._scratch

    def step():
        t0 = clock()
        with np.errstate(over='ignore', invalid='ignore'):
            t = clock()
            Xc, yc = net._batch(X, y)
            ok = type(grads) is mlp._Grads and grads.fits(net)
            ws = net._buffers.get(len(Xc)) or net._workspace(len(Xc))
            t1 = clock(); acc['checks'] += t1 - t
            A = Xc
            for W, b, Z, act in ws.forward:
                t = clock(); np.matmul(A, W, out=Z)
                t1 = clock(); acc['matrix products'] += t1 - t
                np.add(Z, b, out=Z)
                t = clock(); acc['bias additions'] += t - t1
                if A is Xc: math.isfinite(np.vdot(Z, Z))
                t1 = clock(); acc['checks'] += t1 - t
                if act is not None: act(Z)
                acc['activations'] += clock() - t1
                A = Z
            t = clock()
            loss = float(ws.loss(A, yc, ws.D[-1]))
            t1 = clock(); acc['loss'] += t1 - t
            ok = ok and math.isfinite(loss)
            acc['checks'] += clock() - t1
            for l, A_T, D, W_T, D_below, A_below, slope in ws.backward:
                dW, db = grads[l]
                t = clock(); np.matmul(A_T, D, out=dW)
                t1 = clock(); acc['matrix products'] += t1 - t
                np.matmul(ws.ones, D, out=db)
                t = clock(); acc['Σδ as 1ᵀδ'] += t - t1
                np.matmul(D, W_T, out=D_below)
                t1 = clock(); acc['matrix products'] += t1 - t
                if slope is not None: slope(D_below, A_below)
                acc['slopes 1 − A²'] += clock() - t1
            dW, db = grads[0]
            t = clock(); np.matmul(Xc.T, ws.D[0], out=dW)
            t1 = clock(); acc['matrix products'] += t1 - t
            np.matmul(ws.ones, ws.D[0], out=db)
            t = clock(); acc['Σδ as 1ᵀδ'] += t - t1
            ok = ok and math.isfinite(np.vdot(db, db))
            t1 = clock(); acc['checks'] += t1 - t
        g = grads.flat
        ok = ok and math.isfinite(np.vdot(g, g))
        t = clock(); acc['checks'] += t - t1
        theta = net._flat
        for start in range(0, theta.size, scratch.size):
            end = min(theta.size, start + scratch.size)
            np.subtract(theta[start:end], np.multiply(g[start:end], LR, out=scratch[:end - start]),
                        out=theta[start:end])
        t1 = clock(); acc['update'] += t1 - t
        acc['step'] += t1 - t0
        assert ok
    return step, acc


def profile(configs, dtypes, wait_quiet=False, seconds=1.0):
    "Part 4: the share of each section of the MLP's step, and the step against its matrix products alone"
    print("\n4. Where the MLP's step spends its time: share of each section, and the")
    print("   step (all sections) against numpy's matrix products alone (bench.py's bound)")
    out = []
    for config in configs:
        for dtype in dtypes:
            params, X, y = bench.problem(config, dtype, 'mse')
            sizes, B = bench.CONFIGS[config]
            net = MLP(sizes, activation='tanh', loss='mse', dtype=dtype)
            net.params = params
            _, grads = net.loss_and_grads(X, y)
            step, acc = profiled_step(net, X, y, grads)
            bound, _ = bench.gemm_impl(params, X, y, 'mse')
            for _ in range(3): step(); bound()
            for k in acc: acc[k] = 0.0
            if wait_quiet: bench.wait_until_quiet()
            n, start = 0, time.perf_counter()
            while time.perf_counter() - start < seconds: step(); n += 1
            total = acc.pop('step') / n
            acc['the rest (Python)'] = total * n - sum(acc.values())
            gemms = per_call_us(bound, block_s=0.05, rounds=7) / 1e6
            shares = {k: v / n / total for k, v in acc.items()}
            print(f"\n{config} {dtype}: {total * 1e3:.3f} ms per step, {total / gemms:.2f}x the matrix "
                  f"products alone")
            print('  ' + '  '.join(f"{k} {v:.0%}" for k, v in list(shares.items())[:4]))
            print('  ' + '  '.join(f"{k} {v:.0%}" for k, v in list(shares.items())[4:]))
            out.append(dict(config=config, dtype=dtype, step_ms=total * 1e3, gemms_alone_ms=gemms * 1e3,
                            shares=shares))
    return out


def main():
    "The command line: the parts chosen, printed, and written to --json"
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--quick', action='store_true', help='5 rounds instead of 15')
    p.add_argument('--parts', default='ladder,tanh,slabs,profile')
    p.add_argument('--configs', default=','.join(bench.CONFIGS))
    p.add_argument('--dtypes', default='float32,float64')
    p.add_argument('--json', help='also write the results to this JSON file')
    p.add_argument('--wait-quiet', action='store_true',
                   help='on a shared machine, wait before each configuration until other processes are idle, '
                        'and time it again (up to 3 times) if they used more than 5%% of the CPUs meanwhile')
    args = p.parse_args()
    rounds = 5 if args.quick else 15
    parts, configs, dtypes = args.parts.split(','), args.configs.split(','), args.dtypes.split(',')
    print(f"kernel: {bench.blas_kernel()};\nOPENBLAS_CORETYPE, OPENBLAS_L2_SIZE: "
          f"{', '.join(v or 'unset' for v in bench.ENVIRONMENT.values())}\n")
    results = dict(machine=bench.machine(), command=' '.join(sys.argv))
    if 'ladder' in parts: results['ladder'] = ladder(rounds, configs, dtypes, args.wait_quiet)
    if 'tanh' in parts: results['tanh'] = tanh_crossover(rounds)
    if 'slabs' in parts: results['slabs'] = slab_sizes(rounds)
    if 'profile' in parts: results['profile'] = profile(configs, dtypes, args.wait_quiet)
    if args.json:
        with open(args.json, 'w') as f: json.dump(results, f, indent=1)


if __name__ == '__main__':
    main()
