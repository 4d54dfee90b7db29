"""Shared test set-up."""

import torch

# Two xdist workers on two cores: one torch thread each keeps them from waiting on each other.
torch.set_num_threads(1)
