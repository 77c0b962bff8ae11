"""FuxiCTR's side of ``bench/benchmarks/reference.py``, run by a Python with ``fuxictr==2.3.10``.

Not imported by kdbench (it imports fuxictr): ``reference.py`` runs this file with the peer interpreter,
``PY _fuxictr_driver.py SPEC.json``, and reads one JSON line marked ``FUXICTR_REFERENCE``.

SPEC: ``mode`` ``prepare`` (FuxiCTR's feature processor from raw CSV to its training files, timed) or
``train`` (prepare, then one model: fit with early stopping on validation AUC, test AUC of the best
checkpoint, parameter counts and training samples/s), ``data`` (a folder of train/valid/test ``.csv``),
``work`` (FuxiCTR's data and model root), ``fields`` (categorical columns), and for ``train``: ``model``
(dnn, dcnv2, xdeepfm, autoint), ``seed`` and ``settings`` (kdbench config keys: embedding_size, t_hidden,
t_depth, t_cin, t_attention_layers, t_heads, t_attention_dim, lr, weight_decay, batch_size, max_epochs,
patience).

The wheel ships FuxiCTR's library (layers, feature processor, data loaders, ``BaseModel``) but not its
``model_zoo`` of DNN, DCNv2, xDeepFM and AutoInt, so each is composed here from the library's layers the way
the zoo composes it: DNN = embedding -> ``MLP_Block`` -> 1; DCNv2 (parallel) = ``CrossNetV2`` beside an
``MLP_Block``, concatenated into ``Linear(-> 1)``; xDeepFM = ``LogisticRegression`` (no bias) +
``CompressedInteractionNet`` (-> 1) + ``MLP_Block`` (-> 1); AutoInt+ = self-attention layers (query, key,
value without bias, unscaled, a residual projection only where the width changes, ReLU) -> ``Linear(F·A ->
1)``, plus ``MLP_Block`` (-> 1). Training is ``BaseModel.fit``: Adam, gradient norm clipped at 10; weight
decay as FuxiCTR's L2 regularizers on the embedding and the network (``λ/2·‖w‖²``: the gradient Adam's
``weight_decay=λ`` adds); no learning-rate reduction on plateau (kdbench has none).
"""

import glob
import json
import logging
import os
import sys
import time
import warnings

warnings.filterwarnings("ignore")
import torch  # noqa: E402
from torch import nn  # noqa: E402

torch.set_num_threads(1)
from fuxictr.features import FeatureMap  # noqa: E402
from fuxictr.preprocess import FeatureProcessor, build_dataset  # noqa: E402
from fuxictr.pytorch.dataloaders import RankDataLoader  # noqa: E402
from fuxictr.pytorch.layers import (  # noqa: E402
    CompressedInteractionNet,
    CrossNetV2,
    FeatureEmbedding,
    LogisticRegression,
    MLP_Block,
    ScaledDotProductAttention,
)
from fuxictr.pytorch.models import BaseModel  # noqa: E402
from fuxictr.pytorch.torch_utils import seed_everything  # noqa: E402

MARK = "FUXICTR_REFERENCE "


class _Zoo(BaseModel):
    """The zoo's shared start: the embedding; subclasses build their parts, then ``_finish``."""

    def __init__(self, feature_map, s, **kwargs):
        super().__init__(feature_map, model_id=type(self).__name__, **kwargs)
        self.embedding_layer = FeatureEmbedding(feature_map, s["embedding_size"])
        self.flat = feature_map.sum_emb_out_dim()

    def _finish(self, kwargs, lr):
        self.compile(kwargs["optimizer"], kwargs["loss"], lr)
        self.reset_parameters()
        self.model_to_device()

    def mlp(self, s, output_dim):
        return MLP_Block(
            input_dim=self.flat, output_dim=output_dim, hidden_units=s["t_hidden"], hidden_activations="ReLU",
            output_activation=None, dropout_rates=0, batch_norm=False,
        )  # fmt: skip


class DNN(_Zoo):
    def __init__(self, feature_map, s, **kwargs):
        super().__init__(feature_map, s, **kwargs)
        self.dnn = self.mlp(s, 1)
        self._finish(kwargs, s["lr"])

    def forward(self, inputs):
        emb = self.embedding_layer(self.get_inputs(inputs), flatten_emb=True)
        return {"y_pred": self.output_activation(self.dnn(emb))}


class DCNv2(_Zoo):
    def __init__(self, feature_map, s, **kwargs):
        super().__init__(feature_map, s, **kwargs)
        self.crossnet = CrossNetV2(self.flat, s["t_depth"])
        self.parallel_dnn = self.mlp(s, None)
        self.fc = nn.Linear(self.flat + s["t_hidden"][-1], 1)
        self._finish(kwargs, s["lr"])

    def forward(self, inputs):
        emb = self.embedding_layer(self.get_inputs(inputs), flatten_emb=True)
        out = torch.cat([self.crossnet(emb), self.parallel_dnn(emb)], dim=-1)
        return {"y_pred": self.output_activation(self.fc(out))}


class XDeepFM(_Zoo):
    def __init__(self, feature_map, s, **kwargs):
        super().__init__(feature_map, s, **kwargs)
        self.dnn = self.mlp(s, 1)
        self.lr_layer = LogisticRegression(feature_map, use_bias=False)
        self.cin = CompressedInteractionNet(feature_map.num_fields, s["t_cin"], output_dim=1)
        self._finish(kwargs, s["lr"])

    def forward(self, inputs):
        x = self.get_inputs(inputs)
        emb = self.embedding_layer(x)
        logit = self.lr_layer(x) + self.cin(emb) + self.dnn(emb.flatten(start_dim=1))
        return {"y_pred": self.output_activation(logit)}


class SelfAttention(nn.Module):
    def __init__(self, input_dim, attention_dim, heads):
        super().__init__()
        self.heads, self.head_dim = heads, attention_dim // heads
        self.W_q = nn.Linear(input_dim, attention_dim, bias=False)
        self.W_k = nn.Linear(input_dim, attention_dim, bias=False)
        self.W_v = nn.Linear(input_dim, attention_dim, bias=False)
        self.projections = (self.W_q, self.W_k, self.W_v)
        self.W_res = nn.Linear(input_dim, attention_dim, bias=False) if input_dim != attention_dim else None
        self.attention = ScaledDotProductAttention(0)

    def forward(self, x):
        b = x.size(0)
        q, k, v = (w(x).view(b, -1, self.heads, self.head_dim).transpose(1, 2) for w in self.projections)
        out, _ = self.attention(q, k, v, scale=None)
        out = out.transpose(1, 2).contiguous().view(b, -1, self.heads * self.head_dim)
        return (out + (x if self.W_res is None else self.W_res(x))).relu()


class AutoInt(_Zoo):
    def __init__(self, feature_map, s, **kwargs):
        super().__init__(feature_map, s, **kwargs)
        dim, width = s["embedding_size"], s["t_attention_dim"]
        self.dnn = self.mlp(s, 1)
        dims = [dim] + [width] * (s["t_attention_layers"] - 1)
        self.self_attention = nn.Sequential(*[SelfAttention(d, width, s["t_heads"]) for d in dims])
        self.fc = nn.Linear(feature_map.num_fields * width, 1)
        self._finish(kwargs, s["lr"])

    def forward(self, inputs):
        emb = self.embedding_layer(self.get_inputs(inputs))
        logit = self.fc(self.self_attention(emb).flatten(start_dim=1)) + self.dnn(emb.flatten(start_dim=1))
        return {"y_pred": self.output_activation(logit)}


MODELS = {"dnn": DNN, "dcnv2": DCNv2, "xdeepfm": XDeepFM, "autoint": AutoInt}


def prepare(spec):
    """FuxiCTR's feature processor over the raw CSV files: its parquet training files and feature map."""
    params = {
        "dataset_id": "reference", "data_root": spec["work"], "data_format": "csv",
        "train_data": os.path.join(spec["data"], "train.csv"),
        "valid_data": os.path.join(spec["data"], "valid.csv"),
        "test_data": os.path.join(spec["data"], "test.csv"),
        "feature_cols": [{"name": spec["fields"], "active": True, "dtype": "str", "type": "categorical"}],
        "label_col": {"name": "label", "dtype": "float"}, "min_categr_count": 1,
    }  # fmt: skip
    start = time.perf_counter()
    processor = FeatureProcessor(**params)
    params["train_data"], params["valid_data"], params["test_data"] = build_dataset(processor, **params)
    seconds = time.perf_counter() - start
    params["data_format"] = "parquet"
    return params, seconds


def train(spec):
    params, _ = prepare(spec)
    s = spec["settings"]
    params["embedding_dim"] = s["embedding_size"]
    data_dir = os.path.join(spec["work"], "reference")
    feature_map = FeatureMap("reference", data_dir)
    feature_map.load(os.path.join(data_dir, "feature_map.json"), params)
    seed_everything(seed=spec["seed"])
    kwargs = {
        "model_root": os.path.join(spec["work"], "checkpoints"), "metrics": ["AUC", "logloss"], "verbose": 0,
        "optimizer": "adam", "loss": "binary_crossentropy", "task": "binary_classification", "gpu": -1,
        "monitor": "AUC", "monitor_mode": "max", "early_stop_patience": s["patience"],
        "reduce_lr_on_plateau": False,
        "embedding_regularizer": s["weight_decay"] or None, "net_regularizer": s["weight_decay"] or None,
    }  # fmt: skip
    model = MODELS[spec["model"]](feature_map, s, **kwargs)
    os.makedirs(model.model_dir, exist_ok=True)  # as FuxiCTR's run_expid.py does
    train_gen, valid_gen = RankDataLoader(
        feature_map, stage="train", batch_size=s["batch_size"], shuffle=True, **params
    )
    evaluating = [0.0]
    eval_step = model.eval_step

    def timed_eval():
        start = time.perf_counter()
        eval_step()
        evaluating[0] += time.perf_counter() - start

    model.eval_step = timed_eval
    start = time.perf_counter()
    model.fit(train_gen, epochs=s["max_epochs"], validation_data=valid_gen)
    fit_seconds = time.perf_counter() - start
    test_gen = RankDataLoader(feature_map, stage="test", batch_size=4096, shuffle=False, **params)
    test = model.evaluate(test_gen)
    epochs = model._epoch_index + 1
    embedding = sum(p.numel() for p in model.embedding_layer.parameters())
    rows = train_gen.num_samples
    return {
        "test_auc": float(test["AUC"]), "epochs": epochs,
        "params": sum(p.numel() for p in model.parameters()) - embedding, "embedding_params": embedding,
        "samples_per_s": rows * epochs / (fit_seconds - evaluating[0]),
    }  # fmt: skip


def main():
    with open(sys.argv[1]) as f:
        spec = json.load(f)
    logging.disable(logging.CRITICAL)
    if spec["mode"] == "prepare":
        _, seconds = prepare(spec)
        files = glob.glob(os.path.join(spec["work"], "reference", "*.parquet"))
        result = {"seconds": seconds, "files": len(files)}
    else:
        result = train(spec)
    print(MARK + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
