"""How accurate are bpnotes' finite differences on the networks of the notes?

Draws random two-layer problems of the notes' shapes (m=3, p=5, n=2; batch 1 or 7; every hidden and output
activation; all three losses; weights at initialisation scale; pre-activations kept 0.05 away from ReLU's kink)
and measures, for several orders and steps of the central difference, the relative error of `numeric_grad`
against the exact backpropagated gradient (one vector over all parameters). This is the evidence for the
default `order=6, eps=2e-3` of `bpnotes.gradcheck.numeric_grad`.

    python bench/finite_difference_accuracy.py [--trials 10]
"""
import argparse
import itertools

import numpy as np

from bpnotes.gradcheck import numeric_grad, rel_error, two_layer_problem
from bpnotes.layers import two_layer_grads, two_layer_loss
from bpnotes.loss import LOSSES
from bpnotes.single_value import ACTIVATIONS

m, p, n = 3, 5, 2
SETTINGS = [(2, 1e-5), (4, 1e-4), (4, 1e-3), (6, 1e-3), (6, 2e-3), (6, 5e-3)]


def main(trials):
    "Relative error of numeric_grad for every order and step over `trials` rounds of random problems"
    rng = np.random.default_rng(0)
    errors = {s: [] for s in SETTINGS}
    for _, loss, phi, psi, B in itertools.product(range(trials), LOSSES, ACTIVATIONS, ACTIVATIONS, (1, 7)):
        if LOSSES[loss].logits and psi != 'identity':
            continue                      # the cross-entropies take logits: psi is the identity
        args, Y = two_layer_problem(B, m, p, n, loss, phi, margin=0.05, seed=rng)
        exact = np.concatenate([g.ravel() for g in two_layer_grads(*args, Y, phi, psi, loss)])
        f = lambda _: two_layer_loss(*args, Y, phi, psi, loss)
        for order, eps in SETTINGS:
            numeric = np.concatenate([numeric_grad(f, a, eps, order).ravel() for a in args[1:]])
            errors[order, eps].append(rel_error(exact, numeric))
    count = len(errors[SETTINGS[0]])
    print(f"relative error of numeric_grad against backprop over {count} random two-layer problems\n")
    print("order     eps       median        p99        max")
    for (order, eps), e in errors.items():
        print(f"{order:>5}  {eps:8.0e}  {np.median(e):9.1e}  {np.percentile(e, 99):9.1e}  {np.max(e):9.1e}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=10, help="random problems per configuration (48 configurations)")
    main(parser.parse_args().trials)
