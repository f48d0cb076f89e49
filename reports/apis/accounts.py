"""Signing in for apps (`auth/token/`) and who am I (`me/`)."""

from __future__ import annotations

from django.contrib.auth import authenticate
from drf_spectacular.utils import (
    extend_schema,
)
from rest_framework import serializers
from rest_framework import status as http
from rest_framework.authtoken.models import Token
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from geocity.errors import ValidationFailed
from layers.apis import (
    ERRORS,
    ApiView,
)

from ..roles import (
    GROUP_RESIDENT,
    can_see_dashboard,
    can_use_workspace,
    is_admin,
    is_moderator,
    is_official,
)
from ..throttles import (
    TokenObtainThrottle,
)
from .common import (
    code_name,
)
from .serializers import (
    CodeNameSerializer,
)

# --- Auth ---------------------------------------------------------------------------------

class TokenApi(ApiView):
    """Token authentication for apps and scripts (`Authorization: Token <key>`)."""

    throttle_classes = [TokenObtainThrottle]

    class InputSerializer(serializers.Serializer):
        username = serializers.CharField(max_length=150)
        password = serializers.CharField(max_length=256, trim_whitespace=False,
                                         style={"input_type": "password"})

        class Meta:
            ref_name = "TokenRequest"

    class OutputSerializer(serializers.Serializer):
        token = serializers.CharField()

        class Meta:
            ref_name = "Token"

    def get_throttles(self):
        return super().get_throttles() if self.request.method == "POST" else []

    def perform_authentication(self, request):
        # Signing in must work even when the app still sends a revoked token.
        if request.method != "POST":
            super().perform_authentication(request)

    def get_permissions(self):
        return [IsAuthenticated()] if self.request.method == "DELETE" else []

    @extend_schema(tags=["auth"], request=InputSerializer, auth=[],
                   responses={200: OutputSerializer, **ERRORS(400, 429)})
    def post(self, request):
        """Exchange a username and password for an API token (the same token every time)."""
        s = self.InputSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        user = authenticate(request._request, username=s.validated_data["username"],
                            password=s.validated_data["password"])
        if user is None or not user.is_active:
            raise ValidationFailed("Unable to sign in with these credentials.",
                                   code="invalid_credentials")
        token, _ = Token.objects.get_or_create(user=user)
        return Response(self.OutputSerializer({"token": token.key}).data)

    @extend_schema(tags=["auth"], request=None, responses={204: None, **ERRORS(401)})
    def delete(self, request):
        """Revoke the token this request was made with (sign out everywhere the app is)."""
        Token.objects.filter(user=request.user).delete()
        return Response(status=http.HTTP_204_NO_CONTENT)


class MeApi(ApiView):
    permission_classes = [IsAuthenticated]

    class OutputSerializer(serializers.Serializer):
        username = serializers.CharField()
        email = serializers.CharField(allow_blank=True)
        name = serializers.CharField(allow_blank=True)
        roles = serializers.ListField(child=serializers.ChoiceField(
            choices=["resident", "staff", "moderator", "official", "admin"]))
        departments = CodeNameSerializer(many=True)
        can_use_workspace = serializers.BooleanField()
        can_see_dashboard = serializers.BooleanField()

        class Meta:
            ref_name = "Me"

    @extend_schema(tags=["auth"], responses={200: OutputSerializer, **ERRORS(401)})
    def get(self, request):
        """Who am I: roles and departments, for the UI to show the right tools."""
        user = request.user
        departments = list(user.departments.order_by("name_uk"))
        roles = []
        if user.groups.filter(name=GROUP_RESIDENT).exists():
            roles.append("resident")
        if departments:
            roles.append("staff")
        if is_moderator(user):
            roles.append("moderator")
        if is_official(user):
            roles.append("official")
        if is_admin(user):
            roles.append("admin")
        data = {
            "username": user.get_username(), "email": user.email,
            "name": user.get_full_name(), "roles": roles,
            "departments": [code_name(d) for d in departments],
            "can_use_workspace": can_use_workspace(user),
            "can_see_dashboard": can_see_dashboard(user),
        }
        return Response(self.OutputSerializer(data).data)


