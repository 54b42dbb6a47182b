"""bpnotes: backpropagation derived, computed and proved.

A literate package built from the notes "Deriving Backpropagation Gradients": each step of the
derivation is a module that computes its formula and checks it against finite differences, and
on top of them stand a fast network, a gradient checker that names the mistake it finds, and a
training loop. The names most users need, importable from here (help() on each lists its parameters):

- MLP: a dense network of any depth and its backprop; predict, score, save, MLP.load
- fit: mini-batch training by the update rule (momentum, weight decay); returns a history
- check_grads: checks any gradient against finite differences; a failure is diagnosed
- check_mlp: checks an MLP's gradients against finite differences, parameter by parameter
- check_backprop: checks your backprop layer by layer and names the gallery's slip it made

Everything else is imported from its own module: the derivation in bpnotes.single_value,
bpnotes.loss, bpnotes.vector and bpnotes.layers (sections 1 to 4 of the notes, with
bpnotes.layers.backprop for any depth); finite differences in bpnotes.gradcheck; the mistakes
gallery in bpnotes.mistakes and its diagnoses in bpnotes.diagnosis; the checks `bpnotes check` runs
in bpnotes.derivations; data sets and plots of training in bpnotes.train. On the command line:
bpnotes check, bpnotes train, bpnotes evaluate (python -m bpnotes works too).

Documentation, every page executed and checked: https://bpnotes.github.io/bpnotes/
"""
__version__ = "0.0.1"

# Written by hand (nbdev only updates __version__): the names most users need, importable from the package
# itself. Everything else is imported from its own module, e.g. `from bpnotes.layers import backprop`.
from .diagnosis import check_backprop
from .gradcheck import check_grads, check_mlp
from .mlp import MLP
from .train import fit

__all__ = ['MLP', 'check_backprop', 'check_grads', 'check_mlp', 'fit']
