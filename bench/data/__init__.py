"""Datasets: fetch, parse, encode, split, fingerprint and cache."""
