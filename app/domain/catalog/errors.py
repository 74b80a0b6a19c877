"""The catalogue's errors: what a client can act on, with its code and status."""

from __future__ import annotations

from app.domain.errors import Conflict, NotFound, TooManyRequests, ValidationFailed


class BrandNotFound(NotFound):
    code = "brand_not_found"
    title = "Brand not found"


class ProductNotFound(NotFound):
    code = "product_not_found"
    title = "Product not found"


class SkuNotFound(NotFound):
    code = "sku_not_found"
    title = "SKU not found"


class NoPendingRevision(NotFound):
    code = "no_pending_revision"
    title = "The product has no pending revision"


class OutOfStock(Conflict):
    code = "insufficient_stock"
    title = "Not enough stock"


class NotListable(Conflict):
    code = "not_listable"
    title = "The product cannot be listed yet"


class CategoryNotFound(NotFound):
    code = "category_not_found"
    title = "Category not found"


class QualificationNotFound(NotFound):
    code = "qualification_not_found"
    title = "Qualification not found"


class OutProductIdTaken(Conflict):
    code = "out_product_id_taken"
    title = "Another product of the shop has this out_product_id"


class ProductWasListed(Conflict):
    code = "product_was_listed"
    title = "A product that was ever listed cannot be deleted"


class BulkJobNotFound(NotFound):
    code = "bulk_job_not_found"
    title = "Bulk job not found"


class FileNotReady(Conflict):
    code = "file_not_ready"
    title = "The job has no file to download (yet)"


class BulkQueueFull(TooManyRequests):
    code = "bulk_queue_full"
    title = "The shop has too many bulk jobs waiting"


class BulkStorageFull(TooManyRequests):
    code = "bulk_storage_full"
    title = "The shop's waiting uploads take too much space"


class InvalidUpload(ValidationFailed):
    code = "invalid_upload"
    title = "The uploaded file cannot be imported"
