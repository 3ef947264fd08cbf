"""What each chat kind does with a request: turns, answers, persistence."""
