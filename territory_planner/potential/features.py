"""The features as the lookalike models read them: numbers as numbers, text as categories.

Kept apart from the models (potential/models.py) so that reading the features needs no
scikit-learn, which is loaded only when a scenario estimates potential.
"""

from __future__ import annotations

import pandas as pd

from territory_planner.errors import InputError

BLANK = "(blank)"


def categorical(features: pd.DataFrame) -> list[str]:
    """The feature columns read as categories: the text ones."""
    return [c for c in features.columns if not pd.api.types.is_numeric_dtype(features[c])]


def feature_frame(frame: pd.DataFrame, columns: list[str], file) -> pd.DataFrame:
    """The features as the models read them: numbers as float, text as categories (blank: "(blank)")."""
    out = {}
    for column in columns:
        raw = frame[column]
        filled = raw.notna() & (raw.astype(str).str.strip() != "")
        if not filled.any():
            raise InputError(f"feature column '{column}' is blank in every row", file=file, column=column,
                             fix="fill it, or remove it from potential.features")
        numbers = pd.to_numeric(raw.where(filled), errors="coerce")
        if pd.api.types.is_numeric_dtype(raw) or numbers[filled].notna().all():
            out[column] = numbers.astype(float).to_numpy()
        else:
            out[column] = raw.astype(object).where(filled, BLANK).astype(str).str.strip().to_numpy()
    return pd.DataFrame(out)
