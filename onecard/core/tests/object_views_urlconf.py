"""The whole site plus pages declared on core's generic views over members' tags, for test_object_views."""

from django import forms
from django.urls import path

from onecard.core.errors import BusinessError
from onecard.core.object_views import ObjectActionView, ObjectEditView, ObjectListView
from onecard.members import labels
from onecard.members.models import Tag
from onecard.urls import urlpatterns as site


class TagForm(forms.Form):
    name = forms.CharField(max_length=30)
    color = forms.CharField(max_length=7, initial="#3b82f6")


class TagEdit(ObjectEditView):
    permissions = ("members.view", "members.manage_fields")
    model = Tag
    not_found = "No such tag."
    form_class = TagForm
    template_name = "core/object_form.html"
    object_name = "tag"
    success_url = "/done/"
    success_message = "Tag %(name)s saved."

    def save(self, form):
        tag = labels.create_tag(
            self.user, self.merchant, form.cleaned_data["name"], form.cleaned_data["color"]
        )
        if form.cleaned_data["name"] == "refuse-after-writing":
            raise BusinessError("The service changed its mind.", code="refused")
        return tag


class TagList(ObjectListView):
    permissions = ("members.view",)
    model = Tag
    template_name = "core/object_form.html"
    paginate_by = 2

    def get_queryset(self):
        return super().get_queryset().order_by("name")

    def row(self, tag):
        return tag.name


class TagDelete(ObjectActionView):
    permissions = ("members.manage_fields",)
    model = Tag
    success_url = "/done/"
    success_message = "Tag %(name)s deleted."

    def act(self, tag):
        labels.delete_tag(self.user, tag)


urlpatterns = [
    path("test-tags/", TagList.as_view()),
    path("test-tags/new/", TagEdit.as_view()),
    path("test-tags/<int:pk>/", TagEdit.as_view()),
    path("test-tags/<int:pk>/delete/", TagDelete.as_view()),
    *site,
]
