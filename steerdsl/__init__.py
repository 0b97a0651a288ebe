"""steerdsl."""
