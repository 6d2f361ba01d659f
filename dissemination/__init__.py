"""Dissemination: the outbox, fan-out to recipients, channels (inbox, email, webhook), formats."""
