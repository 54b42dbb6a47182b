"""bpnotes: backpropagation derived, computed and proved.

A literate package built from the notes "Deriving Backpropagation Gradients": each step of the
derivation is a module that computes its formula and checks it against finite differences, and
on top of them stand a fast network, a gradient checker and a training loop. The names most
users need are importable from here:

- MLP: a dense network of any depth, trained by backpropagation; ask it with predict and score,
  keep it with save and MLP.load (help(MLP) lists the losses and their targets)
- fit: mini-batch training by the update rule, with momentum and weight decay; returns a history
- check_grads: checks any gradient against finite differences
- check_mlp: checks an MLP's gradients, parameter by parameter

The derivation itself is in bpnotes.single_value, bpnotes.loss, bpnotes.vector and
bpnotes.layers (sections 1 to 4 of the notes); data sets and plots in bpnotes.train. On the
command line: bpnotes check, bpnotes train, bpnotes evaluate (python -m bpnotes works too).
Documentation: https://bpnotes.github.io/bpnotes/
"""
__version__ = "0.0.1"

# Written by hand (nbdev only updates __version__): the names most users need, importable from the package
# itself. Everything else is imported from its own module, e.g. `from bpnotes.layers import backprop`.
from .gradcheck import check_grads, check_mlp
from .mlp import MLP
from .train import fit

__all__ = ['MLP', 'check_grads', 'check_mlp', 'fit']
