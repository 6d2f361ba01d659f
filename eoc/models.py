"""Models of the eoc app."""
