"""The web surface: the JSON API, the team pages, the public opt-out page, the docs."""
