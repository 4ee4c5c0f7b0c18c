from . import (
    test_auth_method,
    test_jwks,
    test_keys,
    test_throttle,
    test_token_request,
    test_tokens,
)
