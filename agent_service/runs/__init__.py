"""Runs: each kind of chat turn, and answers that live apart from the connection that asked for them."""
