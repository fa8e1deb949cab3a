"""Root pytest configuration: validate every shipped task file as a test item (see corecraft_env/validation.py)."""

pytest_plugins = ["corecraft_env.validation"]
