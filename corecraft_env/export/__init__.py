"""Tasks and their episodes as training data: the prompt contract (``prompts``) and the oracle's demonstrations
(``demonstrations``). This package sits above the environment: it renders what ``reset`` shows and replays episodes."""
