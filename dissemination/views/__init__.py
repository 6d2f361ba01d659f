"""The dissemination pages: the inbox, dissemination records, and an agency's channels and webhooks."""
