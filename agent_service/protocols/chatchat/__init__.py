"""Langchain-Chatchat 0.2's dialect."""
