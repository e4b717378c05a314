"""Reading inputs and writing outputs safely (``audit.io.writing``: atomic or write-through)."""
