"""One blueprint per audience: nurse, agent, cpam, coordinator, admin, and the JSON API."""
