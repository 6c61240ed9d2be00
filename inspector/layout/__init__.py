"""IR -> node positions and edge routes. Pure functions, no Qt."""
