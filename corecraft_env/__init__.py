"""Corecraft: a Gymnasium environment of an enterprise customer-support organisation."""
