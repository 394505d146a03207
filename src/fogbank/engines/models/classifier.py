"""Custom text classifiers trained from labelled documents: TF-IDF features and logistic regression.

Word 1-2 grams and character 2-5 grams (inside word boundaries, so spelling variants and unseen inflections
still count) feed a logistic regression; multi-label models use one binary regression per label and report
each label whose probability reaches 0.5. Training holds out a test split (stratified when every class has
at least two documents) and evaluates on it, giving macro and micro precision/recall/F1, accuracy and
Hamming loss. Models are saved with joblib into files the caller names (never from user input).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MULTI_LABEL_THRESHOLD = 0.5


@dataclass
class Metrics:
    accuracy: float
    precision: float
    recall: float
    f1: float
    micro_precision: float
    micro_recall: float
    micro_f1: float
    hamming_loss: float


@dataclass
class TrainedClassifier:
    labels: list[str]
    multi_label: bool
    pipeline: Any
    binarizer: Any = None
    train_count: int = 0
    test_count: int = 0
    metrics: Metrics | None = None
    confusion: dict[str, Any] = field(default_factory=dict)

    def predict(self, texts: list[str]) -> list[dict[str, float]]:
        """Each text's probability per label (multi-class: they sum to 1)."""
        if not texts:
            return []
        probabilities = self.pipeline.predict_proba(texts)
        classes = [str(c) for c in (self.binarizer.classes_ if self.multi_label else self.pipeline.classes_)]
        return [{label: float(p) for label, p in zip(classes, row, strict=True)} for row in probabilities]


def _pipeline(multi_label: bool, size: int) -> Any:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.multiclass import OneVsRestClassifier
    from sklearn.pipeline import FeatureUnion, Pipeline

    features = FeatureUnion([
        ("words", TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1, lowercase=True)),
        ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=1,
                                  max_features=200_000)),
    ])
    regression = LogisticRegression(C=10.0, max_iter=2000, class_weight="balanced")
    model = OneVsRestClassifier(regression) if multi_label else regression
    return Pipeline([("features", features), ("model", model)])


def train(documents: list[str], labels: list[list[str]], multi_label: bool, test_fraction: float = 0.1,
          seed: int = 0, test_documents: list[str] | None = None,
          test_labels: list[list[str]] | None = None) -> TrainedClassifier:
    """Trains on the documents (split off a test set unless one is given) and evaluates on the test set."""
    import numpy as np
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import MultiLabelBinarizer

    if len(documents) != len(labels):
        raise ValueError("documents and labels differ in length")
    if test_documents is not None and test_labels is not None:
        train_docs, train_labels = documents, labels
        test_docs, test_lbls = test_documents, test_labels
    else:
        flat = [sorted(lbls)[0] for lbls in labels]
        counts: dict[str, int] = {}
        for name in flat:
            counts[name] = counts.get(name, 0) + 1
        n_test = max(1, round(len(documents) * test_fraction)) if len(documents) >= 10 else 0
        stratify = flat if not multi_label and min(counts.values()) >= 2 and n_test >= len(counts) else None
        if n_test:
            train_docs, test_docs, train_labels, test_lbls = train_test_split(
                documents, labels, test_size=n_test, random_state=seed, stratify=stratify)
        else:
            train_docs, train_labels, test_docs, test_lbls = documents, labels, [], []
    pipeline = _pipeline(multi_label, len(train_docs))
    binarizer = None
    if multi_label:
        binarizer = MultiLabelBinarizer()
        y = binarizer.fit_transform(train_labels)
        if y.shape[1] < 2:
            raise ValueError("a multi-label classifier needs at least two labels")
        pipeline.fit(train_docs, y)
        names = [str(c) for c in binarizer.classes_]
    else:
        single = [lbls[0] for lbls in train_labels]
        if len(set(single)) < 2:
            raise ValueError("a classifier needs at least two classes")
        pipeline.fit(train_docs, single)
        names = [str(c) for c in pipeline.classes_]
    model = TrainedClassifier(names, multi_label, pipeline, binarizer, len(train_docs), len(test_docs))
    evaluate_docs, evaluate_labels = (test_docs, test_lbls) if test_docs else (train_docs, train_labels)
    model.metrics, model.confusion = _evaluate(model, evaluate_docs, evaluate_labels, np)
    return model


def _evaluate(model: TrainedClassifier, docs: list[str], labels: list[list[str]],
              np: Any) -> tuple[Metrics, dict[str, Any]]:
    from sklearn.metrics import accuracy_score, confusion_matrix, hamming_loss, precision_recall_fscore_support

    predictions = model.predict(docs)
    if model.multi_label:
        index = {name: i for i, name in enumerate(model.labels)}
        truth = np.zeros((len(docs), len(model.labels)), dtype=int)
        guess = np.zeros_like(truth)
        for row, (lbls, probs) in enumerate(zip(labels, predictions, strict=True)):
            for name in lbls:
                if name in index:
                    truth[row, index[name]] = 1
            for name, p in probs.items():
                if p >= MULTI_LABEL_THRESHOLD:
                    guess[row, index[name]] = 1
        y_true, y_pred = truth, guess
        confusion: dict[str, Any] = {}
    else:
        y_true = [lbls[0] for lbls in labels]
        y_pred = [max(p, key=lambda k: p[k]) for p in predictions]
        matrix = confusion_matrix(y_true, y_pred, labels=model.labels)
        confusion = {"type": "multi_class", "confusion_matrix": matrix.tolist(), "labels": model.labels,
                     "all_labels": model.labels}
    macro = precision_recall_fscore_support(y_true, y_pred, average="macro", zero_division=0)
    micro = precision_recall_fscore_support(y_true, y_pred, average="micro", zero_division=0)
    metrics = Metrics(float(accuracy_score(y_true, y_pred)), float(macro[0]), float(macro[1]), float(macro[2]),
                      float(micro[0]), float(micro[1]), float(micro[2]), float(hamming_loss(y_true, y_pred)))
    return metrics, confusion


def save(model: TrainedClassifier, path: Path) -> None:
    """Writes the model atomically (temporary file, fsync, rename)."""
    import os

    import joblib

    tmp = path.with_suffix(path.suffix + ".tmp")
    with open(tmp, "wb") as handle:
        joblib.dump(model, handle)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def load(path: Path) -> TrainedClassifier:
    import joblib

    model = joblib.load(path)
    if not isinstance(model, TrainedClassifier):
        raise ValueError(f"{path} does not hold a fogbank classifier")
    return model
