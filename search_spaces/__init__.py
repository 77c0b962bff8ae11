"""Search spaces: YAML files and the code that validates them and turns them into Optuna suggestions."""
