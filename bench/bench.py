"""Time one training step (loss_and_grads + step) of an MLP: bpnotes against plain numpy, PyTorch and JAX.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python bench/bench.py          # everything, a few minutes
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python bench/bench.py --quick  # 3 rounds instead of 7

Configurations (tanh hidden layers): tiny [2,16,16,1] batch 64, MNIST-like [784,128,10] batch 128, large
[1024,1024,1024,10] batch 256; float32 and float64; mean squared error and softmax cross-entropy. Before timing,
every implementation's gradients are compared with bpnotes' on the same weights and data.

The protocol: each implementation is timed in blocks of consecutive steps (one untimed step, then at least
--block-ms of timed steps and at least 3), as a training loop runs them, so that a step finds the caches as the
previous step of the same implementation left them. Blocks are rotated between the implementations, for --rounds
rounds, with a pause before each block so that the previous library's worker threads have gone to sleep; a
step's time is its block's time divided by its number of steps, and the result is the median over rounds (with
the min and max). The lower bound, "GEMMs only", is the step's own matrix multiplies (forward, weight gradients,
deltas) alone with numpy's BLAS at the same shapes. Peak memory per step is measured in a fresh process per
implementation (RSS high-water mark during the steps, above the memory held before the first step). PyTorch and
JAX are used when installed.

numpy's BLAS (OpenBLAS) picks its kernel for the CPU it finds, unless OPENBLAS_CORETYPE forces one and
OPENBLAS_L2_SIZE overrides the cache size it plans for: machines that set them for safety get an older, slower
kernel than a user's machine would. Run with both unset, as above; the output records them and the kernel
(threadpoolctl), and warns when they are set.
"""
import os

KERNEL_VARIABLES = ('OPENBLAS_CORETYPE', 'OPENBLAS_L2_SIZE')
ENVIRONMENT = {k: os.environ.get(k) for k in KERNEL_VARIABLES}     # as this process started, before numpy

import argparse
import gc
import importlib.util
import json
import math
import platform
import re
import subprocess
import sys
import time

import numpy as np

CONFIGS = {'tiny': ([2, 16, 16, 1], 64), 'mnist': ([784, 128, 10], 128), 'large': ([1024, 1024, 1024, 10], 256)}
LR = 1e-3


def problem(config, dtype, loss, seed=0):
    "Initial weights (bpnotes' initialisation, with small random biases) and a batch of data"
    from bpnotes.mlp import MLP
    sizes, B = CONFIGS[config]
    rng = np.random.default_rng(seed)
    net = MLP(sizes, activation='tanh', loss=loss, seed=seed, dtype=dtype)
    params = [(W.copy(), (rng.normal(size=b.shape) * 0.1).astype(dtype)) for W, b in net.params]
    X = rng.normal(size=(B, sizes[0])).astype(dtype)
    y = rng.normal(size=(B, sizes[-1])).astype(dtype) if loss == 'mse' else rng.integers(0, sizes[-1], size=B)
    return params, X, y


# ---- implementations: each returns (step, grads) where step() trains once in place and grads() returns
# ---- the gradients [(dW, db), ...] at the current weights, as float64 numpy arrays

def bpnotes_impl(params, X, y, loss):
    "(step, grads) for bpnotes' MLP, on its documented fast path (gradient arrays refilled with out=)"
    from bpnotes.mlp import MLP
    net = MLP([params[0][0].shape[0]] + [W.shape[1] for W, _ in params], activation='tanh', loss=loss,
              dtype=params[0][0].dtype)
    net.params = [(W.copy(), b.copy()) for W, b in params]
    state = [None]
    def step():                                    # the documented fast path: gradient arrays reused
        _, state[0] = net.loss_and_grads(X, y, out=state[0])
        net.step(state[0], LR)
    def grads(): return [(dW.astype(np.float64), db.astype(np.float64)) for dW, db in net.loss_and_grads(X, y)[1]]
    return step, grads


def numpy_impl(params, X, y, loss):
    "The straightforward numpy backprop a competent numpy user writes"
    params = [(W.copy(), b.copy()) for W, b in params]
    def loss_and_grads():
        acts = [X]
        for W, b in params[:-1]:
            acts.append(np.tanh(acts[-1] @ W + b))
        out = acts[-1] @ params[-1][0] + params[-1][1]
        if loss == 'mse':
            d = 2 * (out - y) / out.size
        else:
            e = np.exp(out - out.max(axis=1, keepdims=True))
            d = e / e.sum(axis=1, keepdims=True)
            d[np.arange(len(y)), y] -= 1
            d /= len(y)
        grads = []
        for i in reversed(range(len(params))):
            W, _ = params[i]
            grads.append((acts[i].T @ d, d.sum(axis=0)))
            if i:
                d = (d @ W.T) * (1 - acts[i] ** 2)
        return grads[::-1]
    def step():
        for (W, b), (dW, db) in zip(params, loss_and_grads()):
            W -= LR * dW
            b -= LR * db
    def grads(): return [(dW.astype(np.float64), db.astype(np.float64)) for dW, db in loss_and_grads()]
    return step, grads


def torch_impl(params, X, y, loss):
    "(step, grads) for PyTorch's CPU autograd, all threads"
    import torch
    torch.set_num_threads(os.cpu_count())
    ps = [(torch.tensor(W, requires_grad=True), torch.tensor(b, requires_grad=True)) for W, b in params]
    Xt = torch.from_numpy(X)
    yt = torch.from_numpy(y) if loss == 'mse' else torch.from_numpy(np.asarray(y, dtype=np.int64))
    def backward():
        a = Xt
        for W, b in ps[:-1]:
            a = torch.tanh(torch.addmm(b, a, W))
        out = torch.addmm(ps[-1][1], a, ps[-1][0])
        value = torch.nn.functional.mse_loss(out, yt) if loss == 'mse' else torch.nn.functional.cross_entropy(out, yt)
        value.backward()
    def step():
        backward()
        with torch.no_grad():
            for W, b in ps:
                W.add_(W.grad, alpha=-LR); b.add_(b.grad, alpha=-LR)
                W.grad = None; b.grad = None
    def grads():
        backward()
        out = [(W.grad.double().numpy().copy(), b.grad.double().numpy().copy()) for W, b in ps]
        for W, b in ps: W.grad = None; b.grad = None
        return out
    return step, grads


def jax_impl(params, X, y, loss):
    "(step, grads) for a jit-compiled JAX update, with the parameters donated"
    import jax
    import jax.numpy as jnp
    if params[0][0].dtype == np.float64: jax.config.update('jax_enable_x64', True)
    ps = [(jnp.asarray(W), jnp.asarray(b)) for W, b in params]
    Xj, yj = jnp.asarray(X), jnp.asarray(y)
    def loss_fn(ps, X, y):
        a = X
        for W, b in ps[:-1]:
            a = jnp.tanh(a @ W + b)
        out = a @ ps[-1][0] + ps[-1][1]
        if loss == 'mse': return jnp.mean((out - y) ** 2)
        return -jnp.mean(jax.nn.log_softmax(out)[jnp.arange(out.shape[0]), y])
    grad_fn = jax.jit(jax.grad(loss_fn))
    update = jax.jit(lambda ps, X, y: jax.tree_util.tree_map(lambda p, g: p - LR * g, ps, jax.grad(loss_fn)(ps, X, y)),
                     donate_argnums=0)
    state = [ps]
    def step():
        state[0] = update(state[0], Xj, yj)
        jax.block_until_ready(state[0])
    def grads():
        return [(np.asarray(dW, dtype=np.float64), np.asarray(db, dtype=np.float64)) for dW, db in grad_fn(state[0], Xj, yj)]
    return step, grads


def gemm_impl(params, X, y, loss):
    "The lower bound: only the step's matrix multiplies (forward, weight gradients, deltas), with numpy's BLAS"
    B = X.shape[0]
    Ws = [W for W, _ in params]
    acts = [X] + [np.zeros((B, W.shape[1]), X.dtype) for W in Ws]
    deltas = [np.ones((B, W.shape[1]), X.dtype) * 1e-3 for W in Ws]
    dWs = [np.empty_like(W) for W in Ws]
    def step():
        for i, W in enumerate(Ws):
            np.matmul(acts[i], W, out=acts[i + 1])
        for i in reversed(range(len(Ws))):
            np.matmul(acts[i].T, deltas[i], out=dWs[i])
            if i: np.matmul(deltas[i], Ws[i].T, out=deltas[i - 1])
    return step, None


IMPLS = {'bpnotes': bpnotes_impl, 'numpy': numpy_impl, 'torch': torch_impl, 'jax': jax_impl, 'GEMMs only': gemm_impl}


def available():
    "The implementations whose libraries are installed"
    return [name for name in IMPLS if name not in ('torch', 'jax') or importlib.util.find_spec(name) is not None]


def gemm_flops(config):
    "Floating-point operations of the matrix products of one step (no input gradient: X needs none)"
    sizes, B = CONFIGS[config]
    pairs = list(zip(sizes[:-1], sizes[1:]))
    return 2 * B * (3 * sum(fan_in * fan_out for fan_in, fan_out in pairs) - pairs[0][0] * pairs[0][1])


def agreement(impls, config, dtype, loss):
    "Largest relative difference of each implementation's gradients from bpnotes', on the same weights and data"
    params, X, y = problem(config, dtype, loss)
    ref = None
    out = {}
    for name in impls:
        if name == 'GEMMs only': continue
        g = gradient_vector(IMPLS[name](params, X, y, loss)[1]())
        ref = g if ref is None else ref
        out[name] = max_relative_difference(g, ref)
    return out


def gradient_vector(grads):
    "[(dW, db), ...] as one vector"
    return np.concatenate([a.ravel() for layer in grads for a in layer])


def max_relative_difference(g, ref):
    "Largest difference between two gradient vectors, relative to the largest entry of ref"
    return float(np.abs(g - ref).max() / np.abs(ref).max())


def _cpu_ticks():
    "(ticks the whole machine spent busy, ticks in all, ticks this process spent) from /proc"
    fields = list(map(int, open('/proc/stat').readline().split()[1:]))
    busy = sum(fields) - fields[3] - fields[4]                   # all but idle and iowait
    own = sum(map(int, open('/proc/self/stat').read().rsplit(')', 1)[1].split()[11:13]))   # utime, stime
    return busy, sum(fields), own


def others_load(before, after):
    "Share of the machine's CPU time that other processes used between two _cpu_ticks() readings"
    (b0, t0, o0), (b1, t1, o1) = before, after
    return max(0.0, ((b1 - b0) - (o1 - o0)) / max(1, t1 - t0))


def wait_until_quiet(max_share=0.05, timeout_s=600):
    "On a shared machine: wait until other processes use less than max_share of the CPUs for 2 s"
    start = time.time()
    while time.time() - start < timeout_s:
        before = _cpu_ticks(); time.sleep(2)
        if others_load(before, _cpu_ticks()) < max_share: return True
    return False


def timed_quietly(measure, wait_quiet, attempts=3, max_share=0.05):
    "measure(), a time_blocks result; with wait_quiet, after a quiet spell, and again if others took the CPUs"
    best = None
    for _ in range(attempts if wait_quiet else 1):
        if wait_quiet: wait_until_quiet(max_share)
        result = measure()
        if best is None or result[2] < best[2]: best = result
        if best[2] < max_share: break
    return best


def time_steps(impls, config, dtype, loss, rounds, block_s=0.1, pause_s=0.25):
    "Per implementation: the time of one step in each of `rounds` blocks, in ms (see the module's docstring)"
    params, X, y = problem(config, dtype, loss)
    return time_blocks({name: IMPLS[name](params, X, y, loss)[0] for name in impls}, rounds, block_s, pause_s)


def time_blocks(steps, rounds, block_s=0.1, pause_s=0.25):
    "{name: step function} -> ({name: ms per step in each block}, {name: steps per block}, others' CPU share)"
    counts = {}
    for name, step in steps.items():                  # warm up (JAX compiles here), then size the blocks
        step(); step()
        start = time.perf_counter(); n = 0
        while n < 3 or time.perf_counter() - start < block_s / 4:
            step(); n += 1
        counts[name] = max(3, math.ceil(block_s / ((time.perf_counter() - start) / n)))
    times = {name: [] for name in steps}
    names = list(steps)
    before = _cpu_ticks()
    for r in range(rounds):
        for name in names[r % len(names):] + names[:r % len(names)]:      # rotated: nobody always goes first
            step, n = steps[name], counts[name]
            time.sleep(pause_s)                       # the previous library's spinning threads fall asleep
            gc.collect(); gc.disable()
            try:
                step()                                # untimed: the caches as this implementation's loop has them
                start = time.perf_counter()
                for _ in range(n): step()
                times[name].append((time.perf_counter() - start) / n * 1e3)
            finally: gc.enable()
    return {name: np.array(t) for name, t in times.items()}, counts, others_load(before, _cpu_ticks())


def _status(field):
    return int(re.search(rf'{field}:\s+(\d+)', open('/proc/self/status').read()).group(1))


def memory_child(impl, config, dtype, loss):
    "In a fresh process: RSS high-water mark during 5 steps above the RSS before the first step, in MiB"
    params, X, y = problem(config, dtype, loss)
    step, _ = IMPLS[impl](params, X, y, loss)
    del params
    gc.collect()
    if impl == 'jax': step(); gc.collect()              # compile first: XLA's compiler is not part of a step
    before = _status('VmRSS')
    open('/proc/self/clear_refs', 'w').write('5')       # reset the high-water mark
    for _ in range(5): step()
    print(json.dumps((_status('VmHWM') - before) / 1024))


def peak_memory(impl, config, dtype, loss):
    "Peak memory of a step in MiB, measured in a fresh process (NaN if it failed)"
    cmd = [sys.executable, __file__, '--memory-child', impl, config, dtype, loss]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    return json.loads(result.stdout.strip().splitlines()[-1]) if result.returncode == 0 else float('nan')


def blas_kernel():
    "numpy's BLAS as threadpoolctl reports it: library, version, the kernel it chose, threads"
    try: from threadpoolctl import threadpool_info
    except ImportError: return 'unknown (pip install threadpoolctl to record it)'
    pools = [p for p in threadpool_info() if p['user_api'] == 'blas' and 'numpy' in p['filepath']] or \
            [p for p in threadpool_info() if p['user_api'] == 'blas']
    if not pools: return 'unknown (threadpoolctl found no BLAS)'
    p = pools[0]
    return (f"{p['internal_api']} {p['version']}, kernel {p.get('architecture') or 'unknown'}, "
            f"{p['num_threads']} threads")


def machine():
    "CPU, cores, versions, BLAS and its kernel, and the kernel variables: the machine line of the results"
    cpu = re.search(r'model name\s*:\s*(.*)', open('/proc/cpuinfo').read())
    versions = {'numpy': np.__version__}
    for name in ('torch', 'jax'):
        if importlib.util.find_spec(name): versions[name] = __import__(name).__version__
    if 'torch' in versions:
        import torch
        blas = re.search(r'BLAS_INFO=(\w+)', torch.__config__.show())
        versions['torch_blas'] = blas.group(1) if blas else 'unknown'
    blas = np.show_config(mode='dicts')['Build Dependencies']['blas']
    return dict(cpu=cpu.group(1) if cpu else platform.processor(), cores=os.cpu_count(), python=platform.python_version(),
                blas=f"{blas['name']} {blas.get('version', '')}".strip(), kernel=blas_kernel(),
                environment={k: v if v is not None else 'unset' for k, v in ENVIRONMENT.items()}, **versions)


def main():
    "The command line: agreement, then timing, then memory, for every case asked for"
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--quick', action='store_true', help='3 rounds of blocks instead of 7, memory on large only')
    p.add_argument('--rounds', type=int, help='rounds of blocks (default 7, or 3 with --quick)')
    p.add_argument('--block-ms', type=float, default=100, help='timed steps per block: at least this long')
    p.add_argument('--configs', default=','.join(CONFIGS), help='comma-separated: tiny,mnist,large')
    p.add_argument('--dtypes', default='float32,float64')
    p.add_argument('--losses', default='mse,softmax_cross_entropy')
    p.add_argument('--impls', help='comma-separated subset of numpy,torch,jax (bpnotes and the bound always run)')
    p.add_argument('--json', help='also write the results to this JSON file')
    p.add_argument('--wait-quiet', action='store_true',
                   help='on a shared machine, wait before each configuration until other processes are idle, '
                        'and time it again (up to 3 times) if they used more than 5%% of the CPUs meanwhile')
    p.add_argument('--memory-child', nargs=4, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.memory_child: return memory_child(*args.memory_child)
    impls = available()
    if args.impls:                                    # bpnotes and the bound are always timed: the ratios need them
        impls = [i for i in impls if i in args.impls.split(',') + ['bpnotes', 'GEMMs only']]
    missing = [n for n in ('torch', 'jax') if n not in available()]
    for name in impls:                                # import before recording the machine
        if name in ('torch', 'jax'): __import__(name)
    info = machine()
    print(f"machine: {info}")
    forced = {k: v for k, v in ENVIRONMENT.items() if v is not None}
    if forced:
        print(f"WARNING: {forced} force numpy's BLAS kernel; a user's machine picks its own. For numbers that "
              f"stand for a user's: env -u {' -u '.join(KERNEL_VARIABLES)} python {' '.join(sys.argv)}")
    if missing: print(f"not installed, skipped: {', '.join(missing)} (pip install torch jax to include them)")
    rounds = args.rounds or (3 if args.quick else 7)
    results = []
    for config in args.configs.split(','):
        for dtype in args.dtypes.split(','):
            for loss in args.losses.split(','):
                if loss == 'softmax_cross_entropy' and CONFIGS[config][0][-1] < 2:
                    print(f"\n{config} {dtype} {loss}: skipped, softmax cross-entropy needs at least 2 outputs (classes)")
                    continue
                agree = agreement(impls, config, dtype, loss)
                tol = 1e-10 if dtype == 'float64' else 1e-3
                bad = {k: v for k, v in agree.items() if not v <= tol}
                if bad: sys.exit(f"{config} {dtype} {loss}: gradients disagree with bpnotes' {bad}; not timing them")
                times, counts, load = timed_quietly(
                    lambda: time_steps(impls, config, dtype, loss, rounds, args.block_ms / 1e3), args.wait_quiet)
                med = {name: float(np.median(t)) for name, t in times.items()}
                floor = med.get('GEMMs only', float('nan'))
                memory = ({name: peak_memory(name, config, dtype, loss) for name in impls if name != 'GEMMs only'}
                          if config == 'large' or not args.quick else {})
                print(f"\n{config} {CONFIGS[config][0]} batch {CONFIGS[config][1]}, {dtype}, {loss}: "
                      f"{gemm_flops(config) / 1e9:.3f} GFLOP of GEMMs per step, {gemm_flops(config) / floor / 1e6:.1f} GFLOP/s "
                      f"when timed alone; gradients agree to {max(agree.values()):.1e}; other processes used "
                      f"{load:.0%} of the CPUs meanwhile")
                print(f"  {'implementation':<12} {'median ms':>10} {'min-max ms':>17} {'steps/block':>11} {'x GEMMs':>8} "
                      f"{'bpnotes / it':>12} {'peak MiB':>9}")
                for name, t in times.items():
                    print(f"  {name:<12} {med[name]:10.3f} {t.min():8.3f}-{t.max():<8.3f} {counts[name]:11d} "
                          f"{med[name] / floor:8.2f} {med['bpnotes'] / med[name]:12.2f} {memory.get(name, float('nan')):9.1f}")
                results.append(dict(config=config, dtype=dtype, loss=loss, gflop=gemm_flops(config) / 1e9,
                                    agreement=agree, memory_mib=memory, steps_per_block=counts, others_load=load,
                                    times_ms={k: dict(median=med[k], min=float(v.min()), max=float(v.max()),
                                                      blocks=[float(x) for x in v])
                                              for k, v in times.items()}))
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(dict(machine=info, rounds=rounds, block_ms=args.block_ms, command=' '.join(sys.argv),
                           results=results), f, indent=1)


if __name__ == '__main__':
    main()
