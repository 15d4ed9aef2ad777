"""The HTTP way in: the Flask app, the delivery receiver, the JSON API, gadget pages, auth, health."""
