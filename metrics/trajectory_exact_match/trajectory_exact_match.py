"""Exact match of whole trajectories (the paper's metric), as an `evaluate` module that loads offline.

    import evaluate
    em = evaluate.load("metrics/trajectory_exact_match")
    em.compute(predictions=[[5, 7, 1]], references=[[5, 7, 1]])  # {'exact_match': 1.0}

Predictions and references are token-id sequences (or strings); a prediction counts only if it equals
its reference entirely: every thought, command, observation and output token.
"""

import datasets
import evaluate

_DESCRIPTION = "Fraction of predictions equal to their reference sequence, token for token."
_KWARGS = """
Args:
    predictions: list of token-id lists (or strings).
    references: list of token-id lists (or strings), same length.
Returns:
    exact_match: fraction in [0, 1].
"""
_CITATION = "Malach et al., To Infinity and Beyond: Tool-Use Unlocks Length Generalization in State Space Models, 2025."


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS)
class TrajectoryExactMatch(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS,
            features=[
                datasets.Features({"predictions": datasets.Sequence(datasets.Value("int64")), "references": datasets.Sequence(datasets.Value("int64"))}),
                datasets.Features({"predictions": datasets.Value("string"), "references": datasets.Value("string")}),
            ],
        )

    def _compute(self, predictions, references):
        if len(predictions) != len(references):
            raise ValueError(f"{len(predictions)} predictions for {len(references)} references")
        if not predictions:
            return {"exact_match": 0.0}
        hits = sum(list(p) == list(r) for p, r in zip(predictions, references))
        return {"exact_match": hits / len(predictions)}
