"""Writes of the EOC: incidents and activation, the feed, reports, resource requests and tasks."""
