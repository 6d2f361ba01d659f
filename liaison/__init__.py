"""Between the fusion center and the EOCs: liaison assignments, routing rules, relays."""
