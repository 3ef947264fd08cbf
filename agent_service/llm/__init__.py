"""Chat model backends behind one registry."""
