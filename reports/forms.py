"""Forms of the public pages: accounts (sign-up) and the small forms under a report.

They only parse and label input; the rules (who may comment, support once, ...) live in
`reports.services`, which the views call.
"""

from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import UserCreationForm
from django.utils.translation import gettext_lazy as _

User = get_user_model()


class SignupForm(UserCreationForm):
    """An e-mail account. The e-mail is the user name, so it must be unused."""

    email = forms.EmailField(
        label=_("E-mail"),
        max_length=150,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
        help_text=_("You sign in with it; we send updates about your reports to it."),
    )
    first_name = forms.CharField(
        label=_("Name"),
        max_length=150,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
        help_text=_("Shown with your comments."),
    )

    class Meta:
        model = User
        fields = ("email", "first_name")

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for name in ("password1", "password2"):
            self.fields[name].widget.attrs["autocomplete"] = "new-password"

    def clean_email(self) -> str:
        email = self.cleaned_data["email"].strip().lower()
        taken = User.objects.filter(username__iexact=email).exists() or User.objects.filter(
            email__iexact=email
        ).exists()
        if taken:
            raise forms.ValidationError(
                _("An account with this e-mail already exists. Log in or reset the password."),
                code="email_taken",
            )
        return email

    def save(self, commit: bool = True):
        user = super().save(commit=False)
        user.username = self.cleaned_data["email"]
        user.email = self.cleaned_data["email"]
        if commit:
            user.save()
        return user


class SupportForm(forms.Form):
    email = forms.EmailField(
        label=_("Your e-mail"),
        required=False,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
        help_text=_("We count each person once and tell you when the status changes."),
    )


class CommentForm(forms.Form):
    text = forms.CharField(
        label=_("Comment"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3, "maxlength": 2000}),
    )


class SubscribeForm(forms.Form):
    email = forms.EmailField(
        label=_("E-mail for updates"), widget=forms.EmailInput(attrs={"autocomplete": "email"})
    )


class RespondForm(forms.Form):
    """The reporter's answer: fixed (close), not fixed (reopen), or "here is the information"."""

    status = forms.CharField(widget=forms.HiddenInput)
    note = forms.CharField(
        label=_("Your note"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3, "maxlength": 2000}),
    )
