"""Publish Service Status: usage ingest, service notices, and KPIs computed from stored facts by
SQL aggregates (never typed in, never by loading every row into Python), one module a concept.

Code inside app/status imports the concept modules; the names below are the ones used from
outside it (tests, the demo seeding), so `from app.status import services` keeps working."""

from . import rollups  # noqa: F401 - its flush listeners keep the rollups current
from .dashboards import dashboard, filter_choices, offer_table, offer_table_page
from .flow import flow_metrics
from .kpis import availability, fulfillment_kpis, outage_minutes, support_kpis
from .notices import get_notice, list_notices, may_post_notices, post_notice, update_notice
from .periods import Period, month_period, parse_period
from .quotas import predict_quota_crossing
from .revenue import revenue
from .service_status import subscription_status
from .usage import record_usage, usage_totals

__all__ = [
    "Period",
    "availability",
    "dashboard",
    "filter_choices",
    "flow_metrics",
    "fulfillment_kpis",
    "get_notice",
    "list_notices",
    "may_post_notices",
    "month_period",
    "offer_table",
    "offer_table_page",
    "outage_minutes",
    "parse_period",
    "post_notice",
    "predict_quota_crossing",
    "record_usage",
    "revenue",
    "subscription_status",
    "support_kpis",
    "update_notice",
    "usage_totals",
]
