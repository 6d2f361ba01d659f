"""Writes of the fusion center: threat products, attachments, requests for information."""
