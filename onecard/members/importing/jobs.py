"""The steps of an import job: upload, map, check (dry run), confirm, import; plus the template and history."""

import hashlib
import io
from pathlib import Path

from django.utils.translation import gettext as _

from onecard.core.errors import BusinessError, Conflict, PermissionDenied
from onecard.core.scoping import scope

from ..choices import ImportStatus
from ..models import ImportJob, Tag
from .background import dispatch_import
from .checking import check_rows
from .files import MAX_FILE_BYTES, open_job_table, open_table, text_of
from .mapping import (
    auto_mapping,
    check_default_store,
    custom_field_definitions,
    stores_for,
    target_choices,
    target_label,
)
from .progress import set_progress

# ---- upload ------------------------------------------------------------------------------------------------


def create_import_job(actor, uploaded_file, *, default_store=None):
    """Store an uploaded file as a new import job, with its headers and a guessed column mapping."""
    if not actor.has_perm("members.import"):
        raise PermissionDenied()
    merchant = actor.merchant or (default_store.merchant if default_store is not None else None)
    if merchant is None:
        raise BusinessError(_("Choose a default store."), code="import_no_merchant", field="default_store")
    check_default_store(actor, merchant, default_store)
    if uploaded_file.size > MAX_FILE_BYTES:
        raise BusinessError(
            _("The file is larger than %(mb)s MB; split it into smaller files.")
            % {"mb": MAX_FILE_BYTES // (1024 * 1024)},
            code="import_too_large",
        )
    digest = hashlib.sha256()
    for chunk in uploaded_file.chunks():
        digest.update(chunk)
    uploaded_file.seek(0)
    with open_table(uploaded_file, uploaded_file.name) as (headers, _rows):
        pass
    uploaded_file.seek(0)
    node = actor.node if actor.node_id else merchant.nodes.filter(parent__isnull=True).first()
    job = ImportJob(
        merchant=merchant,
        node=node,
        created_by=actor,
        original_name=Path(uploaded_file.name).name[:200],
        file_sha256=digest.hexdigest(),
        headers=headers,
        mapping={
            "columns": auto_mapping(headers, custom_field_definitions(merchant)),
            "default_store": default_store.pk if default_store is not None else None,
        },
    )
    job.file.save(
        f"{job.file_sha256[:16]}{Path(uploaded_file.name).suffix.lower()}", uploaded_file, save=False
    )
    job.save()
    return job


def set_mapping(actor, job, columns, *, default_store=None):
    """Change which member field each column fills, and the store for rows that name none."""
    if job.status not in (ImportStatus.UPLOADED, ImportStatus.VALIDATED, ImportStatus.FAILED):
        raise Conflict(_("This import has already been started."), code="import_already_started")
    check_default_store(actor, job.merchant, default_store)
    allowed = {value for value, _label in target_choices(job.merchant)}
    columns = [c if c in allowed else "" for c in list(columns)[: len(job.headers)]]
    columns += [""] * (len(job.headers) - len(columns))
    seen = set()
    for target in columns:
        if target and target in seen:
            raise BusinessError(
                _("%(field)s is chosen for more than one column.")
                % {"field": target_label(target, job.merchant)},
                code="import_mapping",
            )
        seen.add(target)
    job.mapping = {
        "columns": columns,
        "default_store": default_store.pk if default_store is not None else None,
    }
    if job.status == ImportStatus.VALIDATED:
        job.status = ImportStatus.UPLOADED  # the old check result no longer matches the mapping
    job.save(update_fields=["mapping", "status"])
    return job


def preview_rows(job, count=3):
    """The first few data rows as text, shown next to the mapping selects."""
    with open_job_table(job) as (_headers, rows):
        preview = []
        for _number, cells in rows:
            preview.append([text_of(v) for v in cells])
            if len(preview) >= count:
                break
    return preview


def check_import(actor, job):
    """The dry run: check every row and store the counts and the error report on the job; no member changes."""
    if job.status not in (ImportStatus.UPLOADED, ImportStatus.VALIDATED, ImportStatus.FAILED):
        raise Conflict(_("This import has already been started."), code="import_already_started")
    result = check_rows(job, actor)
    job.total_rows = result.total
    job.valid_rows = len(result.valid)
    job.error_rows = result.error_rows
    job.errors = result.errors
    job.processed_rows = job.imported_rows = 0
    job.status = ImportStatus.VALIDATED
    job.message = ""
    job.save(
        update_fields=[
            "total_rows",
            "valid_rows",
            "error_rows",
            "errors",
            "processed_rows",
            "imported_rows",
            "status",
            "message",
        ]
    )
    return result


def earlier_imports_of_same_file(job):
    """Finished imports of a file with the same content (sha256), for a warning before importing it again."""
    return ImportJob.objects.filter(
        merchant=job.merchant, file_sha256=job.file_sha256, status=ImportStatus.DONE
    ).exclude(pk=job.pk)


def start_import(actor, job):
    """The user confirms: mark the job running and hand it to the background. A second click is refused."""
    if not actor.has_perm("members.import"):
        raise PermissionDenied()
    # One conditional UPDATE: of two clicks (or two tabs) exactly one finds the job still "validated".
    started = ImportJob.objects.filter(pk=job.pk, status=ImportStatus.VALIDATED).update(
        status=ImportStatus.RUNNING, message="", processed_rows=0, imported_rows=0
    )
    if not started:
        raise Conflict(_("This import has already been started."), code="import_already_started")
    job.status = ImportStatus.RUNNING
    set_progress(job.pk, "queued", 0, job.valid_rows)
    dispatch_import(job.pk, actor.pk)
    return job


TEMPLATE_HEADERS = (
    ("姓名", "张三"),
    ("手机号", "13800138000"),
    ("性别", "男"),
    ("生日", "1990-05-01"),
    ("门店编码", ""),
    ("标签", ""),
    ("地址", "上海市徐汇区漕溪北路1号"),
    ("邮箱", "zhangsan@example.com"),
    ("身份证号", ""),
    ("来源", "门店"),
    ("负责人", ""),
    ("营销同意", "是"),
    ("备注", ""),
)


def template_xlsx(actor, merchant):
    """An empty import file: the Chinese headers, the merchant's custom fields and one example row."""
    import openpyxl

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "会员"
    example = dict(TEMPLATE_HEADERS)
    if merchant is not None:
        store = stores_for(actor, merchant).first()
        example["门店编码"] = store.code if store is not None else ""
        tag = Tag.objects.filter(merchant=merchant).first()
        example["标签"] = tag.name if tag is not None else ""
        definitions = custom_field_definitions(merchant)
    else:
        definitions = []
    headers = [h for h, _v in TEMPLATE_HEADERS] + [d.label for d in definitions]
    sheet.append(headers)
    sheet.append([example[h] for h, _v in TEMPLATE_HEADERS] + [(d.choices or [""])[0] for d in definitions])
    for column in sheet.iter_cols(min_row=1, max_row=2):
        column[1].number_format = "@"  # text: Excel must not turn phone numbers into 1.38E+10
        sheet.column_dimensions[column[0].column_letter].width = 16
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def recent_jobs(actor, limit=20):
    """The latest imports the user may see (made at their node or below)."""
    qs = ImportJob.objects.select_related("created_by", "node")
    if not actor.sees_everything:
        qs = qs.filter(merchant_id=actor.merchant.pk if actor.merchant else None)
    return scope(qs, actor, "node")[:limit]
