"""The liaison app's browser pages."""
