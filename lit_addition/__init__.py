"""lit_addition: a PyTorch Lightning trainer that learns to add numbers written as strings ("535+61" -> "596")."""

from lit_addition.callbacks import SamplePredictions
from lit_addition.data import AdditionDataModule
from lit_addition.errors import InputError
from lit_addition.model import AdditionModel
from lit_addition.network import AdditionLSTM
from lit_addition.runtime.encoding import Encoding

__all__ = ["AdditionDataModule", "AdditionLSTM", "AdditionModel", "Encoding", "InputError", "SamplePredictions"]
