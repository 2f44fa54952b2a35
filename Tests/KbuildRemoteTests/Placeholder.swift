// Remote cache client tests against a real nginx.
