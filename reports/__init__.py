"""Static HTML report site built read-only from the results store."""
