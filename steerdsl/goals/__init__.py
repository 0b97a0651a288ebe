"""The goal space: measure implementations, batched measuring with the store as cache, and
normalization. Light at import: spaCy and textstat load only when a value is computed."""
