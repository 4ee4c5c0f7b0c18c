from . import ir_http, oauth_client_mixin, oauth_key, oauth_throttle
