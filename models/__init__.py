"""KD-DAGFM models in pure PyTorch: shared embedding, teachers, DAGFM student, KD wrapper, cost."""

from . import cost
from ._cin import CIN
from ._crossnet import CrossNet
from ._dagfm import DAGFM, INTERACTIONS
from ._embedding import FieldEmbedding
from ._kd import KDDAGFM, PHASES, TEACHERS

__all__ = [
    "CIN",
    "DAGFM",
    "INTERACTIONS",
    "KDDAGFM",
    "PHASES",
    "TEACHERS",
    "CrossNet",
    "FieldEmbedding",
    "cost",
]
