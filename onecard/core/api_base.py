"""Base viewset of the API and the schema inspector that documents the problem+json answers."""

from drf_spectacular.openapi import AutoSchema
from rest_framework.parsers import JSONParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.viewsets import GenericViewSet

from .api import HasPermissionCode, problem
from .problems import PROBLEM_CONTENT_TYPE

_DEFAULT_PROBLEMS = {
    "400": "validation_error or another business refusal",
    "401": "not_authenticated / authentication_failed",
    "403": "permission_denied",
    "404": "not_found (also for records outside the caller's data scope)",
}
_PAGE_NOT_FOUND = "not_found: a page past the last one (or page not a whole number from 1)"


class ProblemAutoSchema(AutoSchema):
    """Adds the problem+json answers every endpoint can give.

    401 and 403 everywhere; 400 on writes and deletes (a refusal such as role_in_use); 404 on a record's
    path, and on a paged list for a page past the last one.
    """

    def _problem_codes(self):
        codes = ["401", "403"]
        if self.method in ("POST", "PUT", "PATCH", "DELETE"):
            codes.append("400")
        if "{" in self.path or self._is_paged_list():
            codes.append("404")
        return codes

    def _is_paged_list(self):
        return (
            self.method == "GET"
            and self._is_list_view()
            and getattr(self.view, "pagination_class", None) is not None
        )

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        for code in self._problem_codes():
            if code not in responses:
                description = _DEFAULT_PROBLEMS[code]
                if code == "404" and "{" not in self.path:
                    description = _PAGE_NOT_FOUND
                responses[code] = self._get_response_for_code(
                    problem(description), code, media_types=[PROBLEM_CONTENT_TYPE]
                )
        for code, entry in responses.items():
            if code >= "400" and "content" in entry:
                entry["content"] = {
                    PROBLEM_CONTENT_TYPE: next(iter(entry["content"].values())),
                }
        return responses


class ApiViewSet(GenericViewSet):
    """Base of OneCard's viewsets: authenticated, permission codes, numeric ids, problem answers in the schema."""

    permission_classes = [IsAuthenticated, HasPermissionCode]
    parser_classes = [JSONParser]
    schema = ProblemAutoSchema()
    lookup_value_regex = "[0-9]+"  # not \d, which matches "²" too; anything else is a problem+json 404
    required_permissions: dict = {}

    def validated(self, serializer_class) -> dict:
        """The request body as read by `serializer_class`; a body it refuses answers validation_error."""
        data = serializer_class(data=self.request.data)
        data.is_valid(raise_exception=True)
        return dict(data.validated_data)


class PatchThroughServiceMixin:
    # PATCH: the body read by `patch_serializer` goes to `update_record` (a service call); the changed
    # record is answered as `serializer_class` shows it. A comment, not a docstring, since drf-spectacular
    # would publish a docstring as every operation's description.

    patch_serializer = None

    def update_record(self, record, values):
        """Call the service that changes `record` with the validated `values`; return the changed record."""
        raise NotImplementedError

    def partial_update(self, request, *args, **kwargs):
        record = self.update_record(self.get_object(), self.validated(self.patch_serializer))
        return Response(self.serializer_class(record).data)
