from . import test_jwks, test_keys, test_throttle, test_tokens
