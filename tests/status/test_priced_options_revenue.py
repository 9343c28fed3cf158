"""Priced options (issue 13, item 3): the contract snapshot records the priced breakdown, and
the dashboards' monthly recurring revenue counts what the options add each month."""

from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa

from app.status import services as status
from app.subscriptions.services import contracts
from tests.status.test_services import fulfil
from tests.vm_options import VM_OPTIONS

GPU_32 = {
    "region": "eu-west",
    "data_centre": "Dublin 1",
    "memory_gb": "32",
    "gpu": True,
    "gpu_model": "A100",
}


def test_the_contract_records_the_priced_breakdown_and_the_mrr_counts_it(users, agents, make_offer):
    vm = make_offer("VM-PRICED", price="80.00", cost="30.00", options=VM_OPTIONS)
    subscription = fulfil(users["consumer"], agents[1], vm, "vm-1", GPU_32)
    contract = contracts.current_contract(subscription)
    assert contract.price == Decimal("80.00")
    assert contract.options_monthly == Decimal("50.00")
    assert contract.snapshot["price_breakdown"] == {
        "base": {"price": "80.00", "billing_period": "monthly"},
        "lines": [
            {
                "key": "memory_gb",
                "label": "Memory (GB)",
                "value": "32",
                "one_time": "0.00",
                "monthly": "10.00",
            },
            {"key": "gpu", "label": "GPU", "value": True, "one_time": "25.00", "monthly": "40.00"},
        ],
        "extra": {"one_time": "25.00", "monthly": "50.00"},
        "totals": {"one_time": "25.00", "monthly": "130.00"},
    }
    every = sa.select(sa.literal_column("id")).select_from(sa.table("subscriptions"))
    figures = status.revenue(every)
    assert (figures["mrr"], figures["margin"]) == (Decimal("130.00"), Decimal("100.00"))


def test_the_contract_page_shows_the_breakdown(users, agents, make_offer, client_as):
    vm = make_offer("VM-PRICED", price="80.00", cost="30.00", options=VM_OPTIONS)
    subscription = fulfil(users["consumer"], agents[1], vm, "vm-1", GPU_32)
    contract = contracts.current_contract(subscription)
    page = client_as("consumer").get(f"/contracts/{contract.id}").get_data(as_text=True)
    assert 'data-testid="price-breakdown"' in page
    assert "Memory (GB): 32" in page and "130.00 EUR" in page and "40.00 EUR" in page
