"""Actions on one report: workflow (transition, reassign, notes) and residents' (support,
comments, subscribe)."""

from __future__ import annotations

from drf_spectacular.utils import (
    extend_schema,
)
from rest_framework import serializers
from rest_framework import status as http
from rest_framework.response import Response

from geocity.errors import ValidationFailed
from layers.apis import (
    ERRORS,
    ApiView,
)
from layers.selectors import department_list

from ..roles import (
    can_see_contact,
    is_official,
)
from ..selectors import (
    get_report,
    report_timeline,
)
from ..services import (
    comment_create,
    report_note_add,
    report_reassign,
    report_support,
    report_transition,
    subscription_create,
)
from .common import (
    SIGNED_IN_WRITE,
    WRITE,
    language,
    public_name,
)
from .reports import NUMBER_PARAMETER
from .serializers import (
    ReportDetailSerializer,
    detail_response,
)


class ReportTransitionApi(ApiView):
    permission_classes = SIGNED_IN_WRITE

    class InputSerializer(serializers.Serializer):
        status = serializers.CharField(max_length=32)
        note = serializers.CharField(required=False, allow_blank=True, default="",
                                     max_length=4000, help_text="Public note.")
        internal_note = serializers.CharField(required=False, allow_blank=True, default="",
                                              max_length=4000)
        reason = serializers.CharField(required=False, allow_blank=True, default="",
                                       max_length=4000,
                                       help_text="Required to reject or reopen.")
        duplicate_of = serializers.IntegerField(required=False, allow_null=True, min_value=1,
                                                max_value=2**63 - 1)

        class Meta:
            ref_name = "TransitionRequest"

    @extend_schema(tags=["workflow"], parameters=[NUMBER_PARAMETER], request=InputSerializer,
                   responses={200: ReportDetailSerializer, **ERRORS(400, 401, 403, 404, 409)})
    def post(self, request, number: int):
        """Move a report to another status, as the workflow table allows for your role.

        409 `invalid_transition` when there is no such transition from the current status
        (also what the loser of a race gets); 403 when it exists but not for you.
        """
        get_report(number=number, user=request.user)
        s = self.InputSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        d = s.validated_data
        report_transition(
            report_id=number, actor=request.user, to_status=d["status"], note=d["note"],
            internal_note=d["internal_note"], reason=d["reason"],
            duplicate_of_id=d.get("duplicate_of"),
            photos=request.FILES.getlist("photos") if request.FILES else (),
        )
        return detail_response(request, number, visible_only=False)


class ReportReassignApi(ApiView):
    permission_classes = SIGNED_IN_WRITE

    class InputSerializer(serializers.Serializer):
        department = serializers.CharField(max_length=64, help_text="Department code.")
        reason = serializers.CharField(required=False, allow_blank=True, default="",
                                       max_length=4000)

        class Meta:
            ref_name = "ReassignRequest"

    @extend_schema(tags=["workflow"], parameters=[NUMBER_PARAMETER], request=InputSerializer,
                   responses={200: ReportDetailSerializer, **ERRORS(400, 401, 403, 404, 409)})
    def post(self, request, number: int):
        """Hand the report to another department, with a reason (staff, moderators)."""
        get_report(number=number, user=request.user)
        s = self.InputSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        code = s.validated_data["department"]
        department = department_list().filter(code=code).first()
        if department is None:
            raise ValidationFailed(f"Department {code!r} does not exist.",
                                   code="department_invalid",
                                   fields={"department": ["No such department."]})
        report_reassign(report_id=number, actor=request.user, department_id=department.pk,
                        reason=s.validated_data["reason"])
        return detail_response(request, number, visible_only=False)


class ReportNoteApi(ApiView):
    permission_classes = SIGNED_IN_WRITE

    class InputSerializer(serializers.Serializer):
        note = serializers.CharField(required=False, allow_blank=True, default="",
                                     max_length=4000, help_text="Public: subscribers are told.")
        internal_note = serializers.CharField(required=False, allow_blank=True, default="",
                                              max_length=4000)

        class Meta:
            ref_name = "NoteRequest"

    @extend_schema(tags=["workflow"], parameters=[NUMBER_PARAMETER], request=InputSerializer,
                   responses={201: ReportDetailSerializer, **ERRORS(400, 401, 403, 404)})
    def post(self, request, number: int):
        """A note on the timeline without a status change (the department's staff,
        moderators). A public note is e-mailed to subscribers."""
        get_report(number=number, user=request.user)
        s = self.InputSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        report_note_add(report_id=number, actor=request.user,
                        public_note=s.validated_data["note"],
                        internal_note=s.validated_data["internal_note"])
        return detail_response(request, number, status=http.HTTP_201_CREATED)


class ReportSupportApi(ApiView):
    permission_classes = WRITE

    class InputSerializer(serializers.Serializer):
        email = serializers.EmailField(required=False, allow_blank=True, default="",
                                       help_text="Required when not signed in.")

        class Meta:
            ref_name = "SupportRequest"

    class OutputSerializer(serializers.Serializer):
        supporters_count = serializers.IntegerField()
        created = serializers.BooleanField(help_text="False when you already supported it.")

        class Meta:
            ref_name = "Support"

    @extend_schema(tags=["reports"], parameters=[NUMBER_PARAMETER], request=InputSerializer,
                   responses={201: OutputSerializer, 200: OutputSerializer,
                              **ERRORS(400, 403, 404, 409)})
    def post(self, request, number: int):
        """"Me too": counted once per account or e-mail; subscribes you to its updates."""
        get_report(number=number, user=request.user)
        s = self.InputSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        report, created = report_support(report_id=number, user=request.user,
                                         email=s.validated_data["email"])
        data = {"supporters_count": report.supporters_count, "created": created}
        return Response(self.OutputSerializer(data).data,
                        status=http.HTTP_201_CREATED if created else http.HTTP_200_OK)


class CommentSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    author = serializers.SerializerMethodField()
    text = serializers.CharField()
    created = serializers.DateTimeField()
    is_staff_reply = serializers.BooleanField()

    class Meta:
        ref_name = "Comment"

    def get_author(self, comment) -> str:
        return public_name(comment.author_name)


class ReportCommentsApi(ApiView):
    class InputSerializer(serializers.Serializer):
        text = serializers.CharField(max_length=20_000, allow_blank=True,
                                     help_text="Up to 2000 characters.")

        class Meta:
            ref_name = "CommentRequest"

    def get_permissions(self):
        if self.request.method == "POST":
            return [p() for p in SIGNED_IN_WRITE]
        return []

    @extend_schema(tags=["reports"], parameters=[NUMBER_PARAMETER],
                   responses={200: CommentSerializer(many=True), **ERRORS(404)})
    def get(self, request, number: int):
        """Public comments, oldest first (hidden ones only for staff and moderators)."""
        report = get_report(number=number, user=request.user)
        internal = can_see_contact(request.user, report) or is_official(request.user)
        comments = [e.item for e in report_timeline(report, internal=internal)
                    if e.kind == "comment"]
        return Response(CommentSerializer(comments, many=True).data)

    @extend_schema(tags=["reports"], parameters=[NUMBER_PARAMETER], request=InputSerializer,
                   responses={201: CommentSerializer, **ERRORS(400, 401, 403, 404)})
    def post(self, request, number: int):
        """Comment on a report (signed-in users)."""
        get_report(number=number, user=request.user)
        s = self.InputSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        comment = comment_create(report_id=number, author=request.user,
                                 text=s.validated_data["text"])
        return Response(CommentSerializer(comment).data, status=http.HTTP_201_CREATED)


class ReportSubscribeApi(ApiView):
    permission_classes = WRITE

    class InputSerializer(serializers.Serializer):
        email = serializers.EmailField(required=False, allow_blank=True, default="",
                                       help_text="Default: your account's e-mail.")

        class Meta:
            ref_name = "SubscribeRequest"

    class OutputSerializer(serializers.Serializer):
        email = serializers.EmailField()
        subscribed = serializers.BooleanField()

        class Meta:
            ref_name = "Subscription"

    @extend_schema(tags=["reports"], parameters=[NUMBER_PARAMETER], request=InputSerializer,
                   responses={200: OutputSerializer, **ERRORS(400, 403, 404)})
    def post(self, request, number: int):
        """E-mail me on public changes of this report (each mail has an opt-out link)."""
        get_report(number=number, user=request.user)
        s = self.InputSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        email = s.validated_data["email"] or (
            request.user.email if request.user.is_authenticated else ""
        )
        sub = subscription_create(report_id=number, email=email, user=request.user,
                                  lang=language())
        return Response(self.OutputSerializer({"email": sub.email, "subscribed": True}).data)


