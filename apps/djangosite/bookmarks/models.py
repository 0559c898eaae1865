"""The data: a bookmark, who added it, and its tags (a tag is a row per bookmark, kept in order)."""
from django.conf import settings
from django.db import models


class Bookmark(models.Model):
    url = models.URLField(max_length=2000)
    title = models.CharField(max_length=200)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self):
        return self.title

    def as_json(self):
        return {"id": self.id, "url": self.url, "title": self.title,
                "tags": [tag.name for tag in self.tags.all()]}


class Tag(models.Model):
    bookmark = models.ForeignKey(Bookmark, related_name="tags", on_delete=models.CASCADE)
    name = models.CharField(max_length=100, db_index=True)

    class Meta:
        ordering = ["id"]

    def __str__(self):
        return self.name
