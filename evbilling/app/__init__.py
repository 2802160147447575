"""The driver app API under /api/app/v1: drivers reach only their own objects."""
