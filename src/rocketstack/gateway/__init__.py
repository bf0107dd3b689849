"""Public URLs: routing /<tenantToken>/<functionName>, HTTP request to event, and handler
result to HTTP response."""
