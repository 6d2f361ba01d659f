"""Browser forms for sign-in and a person's own profile."""

from django import forms
from django.contrib.auth import authenticate
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.signals import user_login_failed

from . import services
from .backends import client_address


class SignInForm(AuthenticationForm):
    """Sign-in that says the same words about a locked account whether or not it exists."""

    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": "The username or password is not right. Check both and try again; "
        "after 5 failed attempts the account is locked.",
        "locked": services.LOCKED_MESSAGE,
        "throttled": services.ADDRESS_THROTTLED_MESSAGE,
        "inactive": "This account cannot sign in. Contact your agency admin.",
    }

    def clean(self):
        username = self.cleaned_data.get("username")
        password = self.cleaned_data.get("password")
        if username is None or not password:
            return self.cleaned_data
        if services.is_address_throttled(address=client_address(self.request)):
            self._refused(username)
            raise forms.ValidationError(self.error_messages["throttled"], code="throttled")
        if services.is_account_locked(username=username):
            self._refused(username)
            raise forms.ValidationError(self.error_messages["locked"], code="locked")
        self.user_cache = authenticate(self.request, username=username, password=password)
        if self.user_cache is None:
            if services.is_account_locked(username=username):
                raise forms.ValidationError(self.error_messages["locked"], code="locked")
            if services.is_address_throttled(address=client_address(self.request)):
                raise forms.ValidationError(self.error_messages["throttled"], code="throttled")
            raise self.get_invalid_login_error()
        self.confirm_login_allowed(self.user_cache)
        return self.cleaned_data

    def _refused(self, username: str) -> None:
        """An attempt refused before the password is checked is a failed sign-in all the same (audited)."""
        user_login_failed.send(sender=__name__, credentials={"username": username}, request=self.request)


class EnrolmentCodeForm(forms.Form):
    """Before the first enrolment: the one-time code an admin issued."""

    enrolment_code = forms.CharField(
        max_length=32,
        strip=True,
        label="Enrolment code",
        help_text="12 letters and digits, such as ABCD-EFGH-JKLM.",
        error_messages={"required": "Enter the enrolment code your admin gave you."},
    )


class SecondFactorForm(forms.Form):
    """The second step of sign-in: the authenticator's code or a recovery code."""

    code = forms.CharField(
        max_length=32, strip=True, error_messages={"required": services.MISSING_CODE_MESSAGE}, label="Code"
    )
