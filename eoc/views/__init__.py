"""The EOC's browser pages: thin views over the selectors and services."""
