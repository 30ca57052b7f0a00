"""Bodies and answers of the passkey routes (``@better-auth/passkey`` 1.7)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints

from app.core.api import ApiModel
from app.modules.auth.schemas import SessionOut, UserOut

PasskeyName = Annotated[str, StringConstraints(strip_whitespace=True, max_length=255)]
Id = Annotated[str, Field(min_length=1, max_length=64)]


class RegisterOptionsQuery(ApiModel):
    authenticator_attachment: Literal["platform", "cross-platform"] | None = Field(
        default=None, alias="authenticatorAttachment"
    )
    name: Annotated[str | None, Field(max_length=255)] = None
    context: Annotated[str | None, Field(max_length=1024)] = None


class VerifyRegistrationBody(ApiModel):
    #: The browser's ``RegistrationResponseJSON`` (checked by the ceremony, not by shape).
    response: Any = None
    name: PasskeyName | None = None
    create_session: bool | None = Field(default=None, alias="createSession")


class VerifyAuthenticationBody(ApiModel):
    #: The browser's ``AuthenticationResponseJSON``.
    response: dict[str, Any]


class DeletePasskeyBody(ApiModel):
    id: Id


class UpdatePasskeyBody(ApiModel):
    id: Id
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)]


class AdminUserPasskeysQuery(ApiModel):
    user_id: Id = Field(alias="userId")


class AdminRemovePasskeyBody(ApiModel):
    user_id: Id = Field(alias="userId")
    passkey_id: Id | None = Field(default=None, alias="passkeyId")


class PasskeyOut(ApiModel):
    id: str
    name: str | None
    publicKey: str
    userId: str
    credentialID: str
    counter: int
    deviceType: str
    backedUp: bool
    transports: str | None
    createdAt: str | None
    aaguid: str | None


class PasskeyUpdateOut(ApiModel):
    passkey: PasskeyOut


class SessionUserOut(ApiModel):
    session: SessionOut
    user: UserOut


class StatusOut(ApiModel):
    status: bool


class RemovedOut(ApiModel):
    success: bool
    removed: int


class RegisterOptionsOut(ApiModel):
    challenge: str
    rp: dict[str, str]
    user: dict[str, str]
    pubKeyCredParams: list[dict[str, Any]]
    timeout: int
    attestation: str
    excludeCredentials: list[dict[str, Any]]
    authenticatorSelection: dict[str, Any]
    extensions: dict[str, Any]
    hints: list[str]


class AuthenticateOptionsOut(ApiModel):
    rpId: str
    challenge: str
    allowCredentials: list[dict[str, Any]] | None = None
    timeout: int
    userVerification: str
