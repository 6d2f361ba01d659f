"""Models of the dissemination app."""
