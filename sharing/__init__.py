"""The fusion center: threat products and their lifecycle, requests for information, search."""
