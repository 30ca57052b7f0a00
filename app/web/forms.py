"""The pages' forms (Flask-WTF: each carries the CSRF token of the server-side session).

Field names are the API's body fields in snake_case; :func:`body_of` turns a form into the API's
JSON body. Browser-side limits (``required``, ``maxlength``) only help: the API's models decide.
"""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    IntegerField,
    PasswordField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, EqualTo, Length, NumberRange, Optional, ValidationError

_PASSWORD = [DataRequired("Enter your password.")]



class Address:
    """An email address as the API takes it (zod's rule, :func:`~app.modules.auth.schemas.normalize_email`):
    a form never accepts what the API would refuse, and no second validator library is needed."""

    def __init__(self, message: str = "Enter a valid email address.") -> None:
        self.message = message

    def __call__(self, form: Any, field: Any) -> None:
        from app.modules.auth.schemas import normalize_email

        try:
            normalize_email(field.data or "")
        except ValueError:
            raise ValidationError(self.message) from None


class Form(FlaskForm):  # type: ignore[misc]  # Flask-WTF ships no type hints
    """The pages' one base form: Flask-WTF is untyped, so only this class needs the ignore."""


class SignInForm(Form):
    email = EmailField("Email", [DataRequired("Enter your email address."), Address()])
    password = PasswordField("Password", _PASSWORD)
    remember_me = BooleanField("Keep me signed in", default=True)
    next = HiddenField()


class SignUpForm(Form):
    name = StringField("Name", [DataRequired("Enter your name."), Length(max=255)])
    email = EmailField("Email", [DataRequired("Enter your email address."), Address()])
    password = PasswordField("Password", [DataRequired("Choose a password.")])


class TotpForm(Form):
    code = StringField("Code from your authenticator app", [DataRequired("Enter the 6-digit code.")])
    trust_device = BooleanField("Trust this device for 30 days")


class BackupCodeForm(Form):
    code = StringField("Backup code", [DataRequired("Enter one of your backup codes.")])
    trust_device = BooleanField("Trust this device for 30 days")


class EmailForm(Form):
    email = EmailField("Email", [DataRequired("Enter your email address."), Address()])


class ResetPasswordForm(Form):
    token = HiddenField()
    new_password = PasswordField("New password", [DataRequired("Choose a new password.")])
    confirm = PasswordField("Repeat the new password", [EqualTo("new_password", "The two passwords differ.")])


class ProfileForm(Form):
    name = StringField("Name", [DataRequired("Enter your name."), Length(max=255)])
    firstname = StringField("First name", [Optional(), Length(max=255)])
    lastname = StringField("Last name", [Optional(), Length(max=255)])
    bio = TextAreaField("About you", [Optional(), Length(max=2000)])


class ChangeEmailForm(Form):
    new_email = EmailField("New email", [DataRequired("Enter the new address."), Address()])


class ChangePasswordForm(Form):
    current_password = PasswordField("Current password", [DataRequired("Enter your current password.")])
    new_password = PasswordField("New password", [DataRequired("Choose a new password.")])
    confirm = PasswordField("Repeat the new password", [EqualTo("new_password", "The two passwords differ.")])
    revoke_other_sessions = BooleanField("Sign out everywhere else")


class PasswordForm(Form):
    """A password to confirm a sensitive step (two-factor on, off, new backup codes)."""

    password = PasswordField("Password", _PASSWORD)


class ActionForm(Form):
    """A button that changes something: only the CSRF token (and an optional target id)."""

    target = HiddenField()


class ApiKeyCreateForm(Form):
    name = StringField("Name", [DataRequired("Give the key a name."), Length(max=255)])
    expires_in_days = IntegerField(
        "Expires after (days)", [Optional(), NumberRange(1, 3650, "Enter a number of days from 1 to 3650.")]
    )


class ApiKeyUpdateForm(Form):
    target = HiddenField()
    name = StringField("Name", [DataRequired("Give the key a name."), Length(max=255)])
    enabled = BooleanField("Enabled")


def show_errors(form: FlaskForm, outcome: Any, fields: dict[str, str] | None = None) -> str | None:
    """Put an API refusal next to the field it is about; return what belongs to no field.

    ``fields`` maps API error codes to form fields (``{"INVALID_PASSWORD": "password"}``); input the
    API's model refused lands on its field by name.
    """
    for name, message in outcome.field_errors.items():
        field = getattr(form, name, None)
        if field is not None:
            field.errors = [*field.errors, message]
    name = (fields or {}).get(outcome.code)
    field = getattr(form, name, None) if name else None
    if field is not None:
        field.errors = [*field.errors, outcome.message]
        return None
    return None if outcome.field_errors else outcome.message


class AdminCreateUserForm(Form):
    name = StringField("Name", [DataRequired("Enter a name."), Length(max=255)])
    email = EmailField("Email", [DataRequired("Enter an email address."), Address()])
    password = PasswordField("Password", [DataRequired("Choose a password.")])
    role = StringField("Role", [Optional(), Length(max=255)], default="user")


class BanForm(Form):
    reason = StringField("Reason", [Optional(), Length(max=1000)])
    expires_in_days = IntegerField(
        "Ban for (days)", [Optional(), NumberRange(1, 3650, "Enter a number of days from 1 to 3650.")]
    )


class RoleForm(Form):
    role = StringField("Role", [DataRequired("Enter a role."), Length(max=255)])


class SetPasswordForm(Form):
    new_password = PasswordField("New password", [DataRequired("Choose a password.")])


#: The organization roles a page offers (the application's access control defines them).
ROLE_CHOICES = [SelectChoice("member", "Member"), SelectChoice("admin", "Admin"), SelectChoice("owner", "Owner")]


class OrganizationForm(Form):
    name = StringField("Organization name", [DataRequired("Enter a name."), Length(max=255)])
    slug = StringField("Short name (in addresses)", [DataRequired("Enter a short name."), Length(max=255)])


class InviteForm(Form):
    email = EmailField("Email", [DataRequired("Enter an email address."), Address()])
    role = SelectField("Role", choices=ROLE_CHOICES)


class MemberRoleForm(Form):
    target = HiddenField()
    role = SelectField("Role", choices=ROLE_CHOICES)
