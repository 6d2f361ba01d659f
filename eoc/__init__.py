"""The EOC: incidents, activations, incident feed, situation reports, resource requests, tasks."""
