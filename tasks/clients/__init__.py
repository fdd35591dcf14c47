"""API clients (servers calling the API): their keys, limits and webhook secrets."""
