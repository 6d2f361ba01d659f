"""Who is who: agencies, jurisdictions, people, roles, handling markings and the visibility policy."""
