"""The steps of a member import job: upload, map, check (dry run), confirm; plus the template and history.

The life cycle it shares with the sales import is in `lifecycle`; this module adds the member specifics."""

import io

from django.utils.translation import gettext as _

from onecard.core.errors import BusinessError, PermissionDenied

from ..choices import ImportStatus
from ..models import ImportJob, Tag
from .background import dispatch_import
from .checking import check_rows
from .files import open_job_table, text_of
from .lifecycle import (
    claim_start,
    errors_by_row,
    new_job,
    problem_report_xlsx,
    read_upload,
    refuse_if_started,
    save_check,
    visible_jobs,
)
from .mapping import (
    auto_mapping,
    check_default_store,
    custom_field_definitions,
    stores_for,
    target_choices,
    target_label,
)
from .progress import MEMBER_IMPORTS

PERMISSION = "members.import"

# ---- upload ------------------------------------------------------------------------------------------------


def create_import_job(actor, uploaded_file, *, default_store=None):
    """Store an uploaded file as a new import job, with its headers and a guessed column mapping."""
    if not actor.has_perm(PERMISSION):
        raise PermissionDenied()
    merchant = actor.merchant or (default_store.merchant if default_store is not None else None)
    if merchant is None:
        raise BusinessError(_("Choose a default store."), code="import_no_merchant", field="default_store")
    check_default_store(actor, merchant, default_store)
    sha256, headers = read_upload(uploaded_file)
    mapping = {
        "columns": auto_mapping(headers, custom_field_definitions(merchant)),
        "default_store": default_store.pk if default_store is not None else None,
    }
    return new_job(ImportJob, actor, merchant, uploaded_file, sha256, headers, mapping=mapping)


def set_mapping(actor, job, columns, *, default_store=None):
    """Change which member field each column fills, and the store for rows that name none."""
    refuse_if_started(job)
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
    refuse_if_started(job)
    result = check_rows(job, actor)
    save_check(
        job,
        total_rows=result.total,
        valid_rows=len(result.valid),
        error_rows=result.error_rows,
        errors=result.errors,
        processed_rows=0,
        imported_rows=0,
    )
    return result


def start_import(actor, job):
    """The user confirms: mark the job running and hand it to the background. A second click is refused."""
    return claim_start(
        actor,
        job,
        permission=PERMISSION,
        progress=MEMBER_IMPORTS,
        dispatch=dispatch_import,
        reset={"processed_rows": 0, "imported_rows": 0},
    )


def error_report_xlsx(job):
    """The rows with errors, with their original values plus the row number and the error messages."""
    return problem_report_xlsx(job, errors_by_row(job), _("Errors"))


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
    return visible_jobs(ImportJob, actor, "created_by", "node")[:limit]
