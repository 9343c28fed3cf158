"""Marshmallow schemas for the knowledge API."""

from __future__ import annotations

from marshmallow import Schema, fields


class KnowledgeHitSchema(Schema):
    id = fields.Int()
    title = fields.Str()
    body = fields.Str(metadata={"description": "Markdown"})
    product_id = fields.Int(allow_none=True)
    views = fields.Int()
    helpful = fields.Int()
    not_helpful = fields.Int()
    updated_at = fields.DateTime()
    url = fields.Str()


class KnowledgePageSchema(Schema):
    items = fields.List(fields.Nested(KnowledgeHitSchema))
    page = fields.Int()
    per_page = fields.Int()
    total = fields.Int()
    pages = fields.Int()
