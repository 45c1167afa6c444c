"""Sources: each yields `RawEntry` items and knows nothing about matching, storage or chat."""
