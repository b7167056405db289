"""What the emulator's credential services know in the credential tests: one role, one OIDC
provider and its token, one ECS role, one CloudSSO access token."""

from __future__ import annotations

from foas_refjobs.emulator import FoasEmulator

ROLE = "acs:ram::1234567890:role/foas-reader"
OIDC_PROVIDER = "acs:ram::1234567890:oidc-provider/ack-rrsa"
OIDC_TOKEN = "eyJhbGciOiJSUzI1NiJ9.emulator-oidc-token.sig"
SSO_TOKEN = "sso-access-token-for-tests"
ECS_ROLE = "EcsFoasRole"


def serve_credential_sources(emulator: FoasEmulator) -> FoasEmulator:
    """`emulator` with a jar to list and every credential source the chain can ask."""
    state = emulator.state
    state.add_package("proj", "udf.jar")
    state.add_role(ROLE)
    state.add_oidc_provider(OIDC_PROVIDER, OIDC_TOKEN)
    state.add_ecs_role(ECS_ROLE)
    state.sso_access_tokens.add(SSO_TOKEN)
    emulator.credential_calls.clear()
    return emulator
