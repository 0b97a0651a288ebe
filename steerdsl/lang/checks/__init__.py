"""The checker's passes, one module per group; steerdsl.lang.checker runs them in order."""
