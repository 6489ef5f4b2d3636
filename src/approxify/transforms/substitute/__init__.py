"""Function substitution: replace costly calls by surrogates fitted on traced calls."""
