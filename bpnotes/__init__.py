__version__ = "0.0.1"

# Written by hand (nbdev only updates __version__): the names most users need, importable from the package
# itself. Everything else is imported from its own module, e.g. `from bpnotes.layers import backprop`.
from .gradcheck import check_grads, check_mlp
from .mlp import MLP
from .train import fit

__all__ = ['MLP', 'check_grads', 'check_mlp', 'fit']
