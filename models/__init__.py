"""KD-DAGFM models in pure PyTorch: shared embedding, teachers, DAGFM student, KD wrapper, cost."""

from . import cost
from ._autoint import AutoInt, MultiHeadSelfAttention
from ._cin import CIN
from ._crossnet import CrossNet, CrossNetwork
from ._dagfm import DAGFM, INTERACTIONS
from ._dcnv2 import STRUCTURES, DCNv2
from ._dnn import DNN
from ._embedding import FieldEmbedding
from ._folded import FoldedStudent, fold_student
from ._kd import KDDAGFM, PHASES, TEACHERS
from ._mlp import MLP
from ._xdeepfm import XDeepFM

__all__ = [
    "CIN",
    "DAGFM",
    "DNN",
    "INTERACTIONS",
    "KDDAGFM",
    "MLP",
    "PHASES",
    "STRUCTURES",
    "TEACHERS",
    "AutoInt",
    "CrossNet",
    "CrossNetwork",
    "DCNv2",
    "FieldEmbedding",
    "FoldedStudent",
    "MultiHeadSelfAttention",
    "XDeepFM",
    "cost",
    "fold_student",
]
