"""KD-DAGFM models in pure PyTorch."""
