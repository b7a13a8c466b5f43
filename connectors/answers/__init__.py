"""One-click answers to offers: signed links, and the endpoint that records them."""
