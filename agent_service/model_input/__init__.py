"""What each chat kind gives the model: its messages, with the history that fits, and the knowledge-base sources."""
