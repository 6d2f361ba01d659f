"""The fusion center's browser pages for threat products: thin views over selectors and services."""
